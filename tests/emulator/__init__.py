"""A GitHub emulator for tests: REST API, GitHub App auth, git over smart HTTP, signed webhooks.

    with running_emulator() as gh:
        app = gh.register_app("autocoder", webhook_url=receiver_url)
        repo = gh.create_repo("octo/hello", {"README.md": "hi\\n"})
        installation_id = gh.install(app.id, repo.full_name)
        gh.add_user("alice", "write", repo.full_name)
        gh.act_as("alice").open_issue(repo.full_name, "Fix the bug", labels=["autocoder"])

See README.md for the control API and what is covered.
"""

from .client import (
    ActingUser,
    AppInfo,
    DeliveryRecord,
    Emulator,
    EmulatorError,
    RepoInfo,
    UserInfo,
    app_jwt,
    basic_auth_header,
    running_emulator,
)
from .receiver import Received, WebhookReceiver, webhook_receiver
from .reqlog import RequestRecord
from .server import EmulatorServer, create_app

__all__ = [
    "ActingUser",
    "AppInfo",
    "DeliveryRecord",
    "Emulator",
    "EmulatorError",
    "EmulatorServer",
    "Received",
    "RepoInfo",
    "RequestRecord",
    "UserInfo",
    "WebhookReceiver",
    "app_jwt",
    "basic_auth_header",
    "create_app",
    "running_emulator",
    "webhook_receiver",
]

"""Work orders for the App's sessions: the job row, the server's validated runner settings and
an installation token for the job's one repository, as one `runner.work_order.WorkOrder`.

The App's private key stays here: `Tokens` mints installation tokens (PyGithub, through
`runner.github.auth`) and the session only ever sees a token. A token lasts an hour; the worker
asks `Tokens.fresh` again every `refresh_s` and sends the session any new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.dashboard.links import session_page_url
from app.db.models import utcnow
from app.queue.models import Job
from runner.conversation_state import ConversationState
from runner.settings import RunnerSettings
from runner.spend import ScopeBudget
from runner.work_order import IssueFacts, WorkKind, WorkOrder, session_settings

if TYPE_CHECKING:
    from app.github_app import AppGitHub

log = logging.getLogger(__name__)

FACTS_FRESH_FOR = timedelta(seconds=60)
"""How long the issue facts a webhook carried stand in for reading GitHub: an issue edited or
commented on while its job waited longer is read again (as is any job's second attempt)."""

TokenSource = Callable[[Job], str]
"""An installation token that can write to the job's repository (raises when none can be had)."""


class NoCredentials(RuntimeError):
    """The server has no GitHub App credentials to act for the job."""


def app_tokens(app_id: int | None, private_key: str | None, api_url: str) -> TokenSource:
    """Installation tokens of the App (for the job's installation, else looked up by the
    repository). Tokens are cached per installation by the credentials and re-minted when
    less than ten minutes are left."""
    from runner.github.auth import AppCredentials, GitHubCredentials

    if app_id is None or not private_key:

        def none(job: Job) -> str:
            raise NoCredentials(
                "no GitHub App credentials: set AUTOCODER_GITHUB_APP_ID and "
                "AUTOCODER_GITHUB_PRIVATE_KEY(_PATH)"
            )

        return none
    app = GitHubCredentials.from_app(app_id, private_key, base_url=api_url)
    by_installation: dict[int, AppCredentials] = {}

    def token(job: Job) -> str:
        installation = job.installation_id
        if installation is None:
            installation = app.installation_id_for(job.repository)
        credentials = by_installation.get(installation)
        if credentials is None:
            credentials = by_installation[installation] = app.for_installation(installation)
        return credentials.installation_token()

    return token


def app_github_tokens(github: AppGitHub) -> TokenSource:
    """Installation tokens from the server's own `AppGitHub`: the token the webhook path minted
    to check the sender's permission is the one the session gets (one mint, not two)."""

    def token(job: Job) -> str:
        installation = job.installation_id
        if installation is None:
            installation = github.installation_id_for(job.repository)
        return github.token_source(installation)()

    return token


class OrderMaker:
    def __init__(
        self,
        settings: RunnerSettings,
        tokens: TokenSource,
        *,
        seconds_between_writes: float = 1.0,
        public_url: str | None = None,
        write_burst: int = 0,
        refresh_s: float = 20 * 60,
    ) -> None:
        self.settings = session_settings(settings, work_dir=settings.work_dir)
        self.tokens = tokens
        self.public_url = public_url  # AUTOCODER_PUBLIC_URL: check runs link the session page
        self.seconds_between_writes = seconds_between_writes
        self.write_burst = write_burst
        self.refresh_s = refresh_s

    def make(
        self,
        job: Job,
        session_id: str,
        *,
        work_dir: Path | None = None,
        budgets: tuple[ScopeBudget, ...] = (),
        resume: ConversationState | None = None,
    ) -> WorkOrder:
        settings = self.settings
        if work_dir is not None:
            settings = settings.model_copy(update={"work_dir": work_dir})
        return WorkOrder(
            job_id=job.id,
            attempt=max(job.attempts, 1),
            session_id=session_id,
            kind=job.work_kind,
            repository=job.repository,
            issue_number=job.issue_number,
            pull_number=job.pull_number,
            review_id=job.review_id,
            actor=job.actor,
            **feature_fields(job),
            github_token=self.tokens(job),  # type: ignore[arg-type]  # pydantic: str → SecretStr
            seconds_between_writes=self.seconds_between_writes,
            details_url=session_page_url(self.public_url, job.id),
            write_burst=self.write_burst,
            budgets=budgets,
            resume=resume,
            facts=issue_facts(job),
            settings=settings,
        )


def issue_facts(job: Job) -> IssueFacts | None:
    """The webhook's facts about the job's issue, while they can be trusted: a first attempt,
    claimed within `FACTS_FRESH_FOR` of the delivery (None: the session reads GitHub)."""
    data = (job.payload or {}).get("facts")
    if not isinstance(data, dict) or job.attempts > 1 or job.interruptions:
        return None
    created = job.created_at
    if created is None or utcnow() - created > FACTS_FRESH_FOR:
        return None
    try:
        return IssueFacts.model_validate(data)
    except ValidationError:
        log.warning("job %s: its issue facts are not valid; the session reads GitHub", job.id)
        return None


def feature_fields(job: Job) -> dict[str, Any]:
    """A spec (initialize) or feature job's part of the order (issue #13): the spec issue, and
    the branch a stacked feature builds on (both from the job's payload)."""
    if job.kind == WorkKind.INITIALIZE.value:
        return {"spec_issue": job.issue_number}
    if job.kind != WorkKind.FEATURE.value:
        return {}
    spec, base = job.payload.get("spec_issue"), job.payload.get("base_branch")
    return {
        "spec_issue": spec if isinstance(spec, int) else None,
        "base_branch": base if isinstance(base, str) and base else None,
    }

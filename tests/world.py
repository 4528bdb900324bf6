"""A small GitHub world on the emulator that end-to-end tests share: an App installed on a
repository, a maintainer with write access, a passer-by with read access, and an issue."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.emulator.client import AppInfo, Emulator, RepoInfo

REPO = "octo/hello"
MAINTAINER = "mona"
READER = "passerby"


@dataclass
class World:
    emulator: Emulator
    app: AppInfo
    repo: RepoInfo
    installation_id: int

    def open_issue(self, title: str, body: str, *, as_user: str = MAINTAINER) -> int:
        issue = self.emulator.act_as(as_user).open_issue(REPO, title, body)
        return int(issue["number"])

    def runner_env(self, cache_dir: Path, **extra: str) -> dict[str, str]:
        """Environment variables for autocoder acting as this world's App."""
        env = {
            "AUTOCODER_GITHUB_API_URL": self.emulator.api_url,
            "AUTOCODER_GITHUB_APP_ID": str(self.app.id),
            "AUTOCODER_GITHUB_PRIVATE_KEY": self.app.private_key,
            "AUTOCODER_CACHE_DIR": str(cache_dir),
            "AUTOCODER_COMMIT_NAME": self.app.bot_login,
            "AUTOCODER_COMMIT_EMAIL": f"{self.app.bot_id}+{self.app.bot_login}"
            "@users.noreply.github.com",
        }
        env.update(extra)
        return env

    def git(self, *args: str) -> str:
        """Run git in the emulator's bare repository (what GitHub holds)."""
        done = subprocess.run(
            ["git", "--git-dir", self.repo.git_dir, *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def api(self, path: str) -> Any:
        """GET a REST path as the maintainer (what a person would see on GitHub)."""
        import httpx

        token = self.maintainer_token
        response = httpx.get(
            self.emulator.api_url + path, headers={"Authorization": f"token {token}"}
        )
        response.raise_for_status()
        return response.json()

    maintainer_token: str = ""


def make_world(emulator: Emulator, files: dict[str, str] | None = None) -> World:
    app = emulator.register_app("autocoder")
    repo = emulator.create_repo(
        REPO, files or {"README.md": "# hello\n", "greet.py": "def greet():\n    return 'hi'\n"}
    )
    installation_id = emulator.install(app.id, REPO)
    maintainer = emulator.add_user(MAINTAINER, "write", REPO, token=True)
    emulator.add_user(READER, "read", REPO, token=True)
    world = World(emulator, app, repo, installation_id)
    world.maintainer_token = maintainer.token or ""
    return world

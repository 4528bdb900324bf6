"""How the Claude Code CLI is started: which binary, with exactly which environment.

What the SDK does (claude-agent-sdk 0.2.187, `SubprocessCLITransport.connect`): the CLI's
environment is `{**os.environ, **options.env}` plus a few variables of its own — it inherits the
whole environment of the runner, GITHUB_TOKEN, AUTOCODER_* secrets and all, and `options.env` can
add or override names but never remove one. Claude Code then hands its environment to every
command its Bash tool runs (tried: `env` in a Bash call printed GITHUB_TOKEN and
ANTHROPIC_API_KEY).

So the engine starts the CLI through a small launcher script (`write_launcher`, given to the SDK
as `cli_path`) that `exec`s the real binary under `env -i` with an allowlist of variable *names*:
the values stay in the environment (never in a file or on a command line), and a name not on the
list, whatever the runner's own environment holds, never reaches the CLI. The CLI gets its
credentials, the endpoint, a private HOME / CLAUDE_CONFIG_DIR / TMPDIR (so this machine user's
settings, hooks and sessions neither leak in nor get written), bounded retries and PATH. Bash
commands are additionally rewritten to run in the sandbox with a cleared environment (see
`sandboxed_bash`), since the CLI's own environment must still hold the model's key.

The launcher also starts the CLI as the leader of its own session (`setsid`) and writes its pid,
so the engine can kill the CLI's whole process group if the SDK's own shutdown is cut short.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import claude_agent_sdk

CREDENTIAL_NAMES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
"""Variables that authenticate the CLI to the model endpoint; at least one must be set."""

PASSTHROUGH_NAMES = (
    "ANTHROPIC_BASE_URL",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
"""Taken from the runner's environment when set: where the endpoint is and how to reach it."""

SDK_OWN_NAMES = (
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_AGENT_SDK_VERSION",
    "CLAUDE_CODE_SDK_READS_SESSION_STATE",
    "CLAUDE_AGENT_SDK_CLIENT_APP",
    "CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING",
    "PWD",
)
"""What the SDK itself adds to the CLI's environment; none of it is secret."""

DEFAULT_MAX_RETRIES = 3
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ClaudeCredentials:
    """How the CLI reaches the model. Values not given are taken from the runner's environment."""

    api_key: str | None = None
    auth_token: str | None = None
    oauth_token: str | None = None
    base_url: str | None = None

    def resolved(self, environ: Mapping[str, str]) -> ClaudeCredentials:
        return ClaudeCredentials(
            api_key=self.api_key or environ.get("ANTHROPIC_API_KEY") or None,
            auth_token=self.auth_token or environ.get("ANTHROPIC_AUTH_TOKEN") or None,
            oauth_token=self.oauth_token or environ.get("CLAUDE_CODE_OAUTH_TOKEN") or None,
            base_url=self.base_url or environ.get("ANTHROPIC_BASE_URL") or None,
        )

    @property
    def present(self) -> bool:
        return bool(self.api_key or self.auth_token or self.oauth_token)


@dataclass(frozen=True)
class PrivateDirs:
    """The CLI's own HOME, config and temp directories, inside one temporary directory."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def config(self) -> Path:
        return self.root / "home" / ".claude"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def launcher(self) -> Path:
        return self.root / "claude-launcher"

    @property
    def pidfile(self) -> Path:
        return self.root / "claude.pid"

    def create(self) -> None:
        for directory in (self.home, self.config, self.tmp, self.reports):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def build_cli_env(
    credentials: ClaudeCredentials,
    dirs: PrivateDirs,
    *,
    environ: Mapping[str, str],
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> dict[str, str]:
    """The complete environment of the CLI (given to the SDK as `options.env`)."""
    env: dict[str, str] = {
        "PATH": environ.get("PATH") or os.defpath,
        "HOME": str(dirs.home),
        "CLAUDE_CONFIG_DIR": str(dirs.config),
        "TMPDIR": str(dirs.tmp),
        "LANG": "C.UTF-8",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": str(max(0, max_retries)),
    }
    shell = shutil.which("bash", path=env["PATH"])
    if shell:
        env["SHELL"] = shell
    for name in PASSTHROUGH_NAMES:
        value = environ.get(name)
        if value:
            env[name] = value
    if credentials.base_url:
        env["ANTHROPIC_BASE_URL"] = credentials.base_url
    if credentials.api_key:
        env["ANTHROPIC_API_KEY"] = credentials.api_key
    if credentials.auth_token:
        env["ANTHROPIC_AUTH_TOKEN"] = credentials.auth_token
    if credentials.oauth_token:
        env["CLAUDE_CODE_OAUTH_TOKEN"] = credentials.oauth_token
    return env


def bundled_cli_path() -> Path | None:
    """The Claude Code CLI that ships inside claude-agent-sdk, else `claude` on PATH."""
    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if bundled.is_file():
        return bundled
    found = shutil.which("claude")
    return Path(found) if found else None


def launcher_script(cli: Path, keep: Iterable[str], *, pidfile: Path) -> str:
    """A POSIX shell script that runs `cli` with only the variables named in `keep`.

    `${NAME+"NAME=$NAME"}` expands to one word when NAME is set (even to ""), to nothing when
    it is not, so the CLI sees exactly the set of allowed names the launcher was given.
    """
    names = sorted(set(keep))
    for name in names:
        if not _NAME.match(name):
            raise ValueError(f"not an environment variable name: {name!r}")
    env_binary = shutil.which("env") or "/usr/bin/env"
    setsid = shutil.which("setsid")
    lines = [
        "#!/bin/sh",
        "# Written by autocoder's Claude engine: Claude Code, with an allowlisted environment.",
        f"echo $$ > {shlex.quote(str(pidfile))}",
        f"exec {shlex.quote(setsid) + ' ' if setsid else ''}{shlex.quote(env_binary)} -i \\",
    ]
    lines += [f'  ${{{name}+"{name}=${name}"}} \\' for name in names]
    lines.append(f'  {shlex.quote(str(cli))} "$@"')
    return "\n".join(lines) + "\n"


def write_launcher(dirs: PrivateDirs, cli: Path, env: Mapping[str, str]) -> Path:
    """Write the launcher for `cli`, allowing the names in `env` and the SDK's own."""
    script = launcher_script(cli, [*env, *SDK_OWN_NAMES], pidfile=dirs.pidfile)
    dirs.launcher.write_text(script, encoding="utf-8")
    dirs.launcher.chmod(0o700)
    return dirs.launcher

"""The environment a command may see: a short allowlist, never a token, key or password.

The runner's own environment holds secrets (the model's API key, GitHub tokens, the app's
settings). A command the model runs gets a fresh environment built from an allowlist of harmless
variables (PATH, locale, terminal, toolchain locations), a HOME and TMPDIR of its own, and a few
fixed settings that keep tools non-interactive. A denylist check runs as a second guard: a
variable whose name or value looks like a secret is dropped even if the allowlist let it in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["SANDBOX_HOME", "SANDBOX_TMP", "clean_environment", "looks_secret"]

# Inside bubblewrap, /tmp is a private, empty tmpfs of the command's own, and HOME lives in it.
SANDBOX_TMP = "/tmp"  # noqa: S108 - the sandbox's own tmpfs, not the host's /tmp
SANDBOX_HOME = "/tmp/home"  # noqa: S108 - inside the sandbox's own tmpfs

_ALLOWED_NAMES = frozenset(
    {
        "PATH",
        "LANG",
        "LANGUAGE",
        "TERM",
        "TZ",
        "COLUMNS",
        "LINES",
        "NO_COLOR",
        "JAVA_HOME",
        "GOROOT",
        "RUSTUP_HOME",
        "CARGO_HOME",
        "PYENV_ROOT",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        # Who commits made inside the session are by (not secret; see runner.workspace.identity).
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    }
)
_ALLOWED_PREFIXES = ("LC_",)

_SECRET_NAME_PARTS = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|COOKIE|PRIVATE|API_?KEY|ACCESS_?KEY"
    r"|(^|_)(KEY|AUTH|PASS|PAT|SESSION|BEARER)(_|$)",
    re.IGNORECASE,
)
_SECRET_NAME_PREFIXES = (
    "GITHUB_",
    "GH_",
    "ANTHROPIC_",
    "OPENAI_",
    "AUTOCODER_",
    "CLAUDE_",
    "AWS_",
    "AZURE_",
    "GOOGLE_",
    "GCP_",
    "ACTIONS_",
    "RUNNER_",
    "SSH_",
    "GPG_",
    "NPM_",
    "PYPI_",
    "TWINE_",
    "DOCKER_",
    "BASIC_AUTH_",
)
_SECRET_VALUE = re.compile(
    r"gh[pousr]_[A-Za-z0-9]{10,}|github_pat_|\bsk-[A-Za-z0-9_-]{8,}|xox[abprs]-|AKIA[0-9A-Z]{12,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY|\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|://[^/\s:@]+:[^/\s@]+@",
    re.IGNORECASE,
)

_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_DEFAULT_IDENTITY = {
    "GIT_AUTHOR_NAME": "autocoder",
    "GIT_AUTHOR_EMAIL": "autocoder@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "autocoder",
    "GIT_COMMITTER_EMAIL": "autocoder@users.noreply.github.com",
}
# Fixed settings: no pagers or editors waiting for a terminal, no git password prompts.
_FIXED = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "GIT_EDITOR": "true",
    "GIT_TERMINAL_PROMPT": "0",
    "CI": "true",
    # No __pycache__/*.pyc left in the worktree for the commit (runner.workspace.debris).
    "PYTHONDONTWRITEBYTECODE": "1",
}


def looks_secret(name: str, value: str) -> bool:
    """Whether a variable's name or value looks like it holds a secret."""
    upper = name.upper()
    return bool(
        upper.startswith(_SECRET_NAME_PREFIXES)
        or _SECRET_NAME_PARTS.search(upper)
        or _SECRET_VALUE.search(value)
    )


def clean_environment(
    source: Mapping[str, str], *, home: str = SANDBOX_HOME, tmpdir: str = SANDBOX_TMP
) -> dict[str, str]:
    """The environment for one command, built from `source` (usually os.environ).

    Only allowlisted variables are copied (PATH, LANG, LC_*, TERM, TZ, toolchain homes, the git
    identity), and of those none whose name or value looks like a secret. HOME and TMPDIR are
    set to the given directories (inside the sandbox by default).
    """
    env: dict[str, str] = {}
    for name, value in source.items():
        if name not in _ALLOWED_NAMES and not name.startswith(_ALLOWED_PREFIXES):
            continue
        if looks_secret(name, value):
            continue
        env[name] = value
    env.setdefault("PATH", _DEFAULT_PATH)
    env.setdefault("LANG", "C.UTF-8")
    for name, value in _DEFAULT_IDENTITY.items():
        env.setdefault(name, value)
    env.update(_FIXED)
    env["HOME"] = home
    env["TMPDIR"] = tmpdir
    return env

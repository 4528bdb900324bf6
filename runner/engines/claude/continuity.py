"""Issue #14 for the Claude engine: where Claude Code keeps a session's transcript, how an earlier
attempt's transcript is put back so the CLI can `--resume` it, and which failures are a model
quota (pause) rather than an error.

Claude Code writes each session's conversation to
`$CLAUDE_CONFIG_DIR/projects/<working directory, every non-alphanumeric character a "-">/<session
id>.jsonl` (claude-agent-sdk 0.2.190, `_internal/sessions.py`; CLI 2.1.337) and `--resume <id>`
reads it from there. The engine's config dir lives in a temporary HOME that is gone when the run
ends, and the next attempt may work in another directory, so the transcript travels in the
`resume_state` (`ConversationState.transcript`) and is written back under the new working
directory before the CLI starts.

A rate limit or overload that outlasts the CLI's own retries ends its run with a synthetic
assistant message (`error` "rate_limit", or "server_error" with "529 Overloaded" in its text)
and an error result; `is_quota_failure` says when that is a quota, which pauses the session.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

_NOT_ALNUM = re.compile(r"[^a-zA-Z0-9]")
_MAX_PROJECT_KEY = 200  # longer keys get a hash suffix the SDK and the CLI compute differently
QUOTA_STATUSES = frozenset({429, 529})
_OVERLOADED = re.compile(r"\b529\b|overloaded", re.IGNORECASE)


def project_key(cwd: Path) -> str:
    """The directory name Claude Code files a working directory's sessions under."""
    return _NOT_ALNUM.sub("-", str(cwd.resolve()))


def transcript_path(config_dir: Path, cwd: Path, session_id: str) -> Path:
    return config_dir / "projects" / project_key(cwd) / f"{session_id}.jsonl"


def find_transcript(config_dir: Path, session_id: str) -> Path | None:
    """The transcript of `session_id` in this config dir, whatever project it is filed under."""
    if not _is_uuid(session_id):
        return None
    projects = config_dir / "projects"
    if not projects.is_dir():
        return None
    for found in sorted(projects.glob(f"*/{session_id}.jsonl")):
        if found.is_file():
            return found
    return None


def read_transcript(config_dir: Path, session_id: str | None) -> str | None:
    if not session_id:
        return None
    path = find_transcript(config_dir, session_id)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    # A line being written as we read is left out: the CLI must be able to parse every line.
    complete, _, _ = text.rpartition("\n")
    return complete + "\n" if complete else None


def restore_transcript(config_dir: Path, cwd: Path, session_id: str, transcript: str) -> bool:
    """Put an earlier attempt's transcript where `claude --resume <session_id>` run in `cwd`
    looks for it; False when it cannot be resumed (not a session id, a path too long)."""
    if not _is_uuid(session_id) or not transcript.strip():
        return False
    key = project_key(cwd)
    if len(key) > _MAX_PROJECT_KEY:
        return False
    path = transcript_path(config_dir, cwd, session_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(transcript if transcript.endswith("\n") else transcript + "\n", "utf-8")
    return True


def is_quota_failure(
    *, error_kind: str | None, detail: str, status: int | None, retry_status: int | None
) -> bool:
    """Whether a failed run ended on a model rate limit or overload (pause, not fail):
    the CLI's error kind, the result's HTTP status, or the status its last retry was for."""
    kind = (error_kind or "").lower()
    if kind == "rate_limit" or status in QUOTA_STATUSES or retry_status in QUOTA_STATUSES:
        return True
    return kind == "server_error" and _OVERLOADED.search(detail or "") is not None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

"""Where a session runs: `local` (a subprocess in its own process group) or `docker` (one
container per session). Both launch the same entry, `python -m app.session_main`."""

from app.executors.base import Executor, LaunchSpec, SessionHandle, session_argv

__all__ = ["Executor", "LaunchSpec", "SessionHandle", "session_argv"]

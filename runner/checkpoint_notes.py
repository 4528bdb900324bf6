"""Resume state kept in the repository itself, for runs that have no database (the Action).

The App's worker stores each `resume_state` in its database. A GitHub Action run has none, and a
killed run leaves nothing behind but what it pushed. So there, each checkpoint's conversation is
also written as a git note on the commit it pushed, under a notes ref of the session branch's own
(`refs/notes/autocoder/<branch>`: one writer, no clash between issues), and pushed next to the
branch. The next run on the same issue fetches that ref and takes the note of the newest commit
of its starting branch that has one: the conversation then fits the branch by construction
(`checkpoint.resume_fits` checks it again). A note, unlike a file in the tree, never shows in the
pull request's diff; the conversation holds nothing the model was not shown, and the model is
never shown a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import ValidationError

from runner.conversation_state import ConversationState
from runner.events import ResumeState, SessionEvent
from runner.workspace import GitAuth, Identity, Worktree, run_git
from runner.workspace.errors import GitError
from runner.workspace.mirror import url_scheme

log = logging.getLogger(__name__)

NOTES_PREFIX = "refs/notes/autocoder/"
SEARCH_DEPTH = 50  # commits of the starting branch looked at for a note, newest first


def notes_ref(branch: str) -> str:
    return NOTES_PREFIX + branch


def _git(worktree: Worktree, *args: str, **kwargs: object) -> str:
    return run_git(
        list(args),
        worktree.path,
        git_dir=worktree.git_dir,
        work_tree=worktree.path,
        **kwargs,  # type: ignore[arg-type]
    )


def push_state_note(
    worktree: Worktree,
    clone_url: str,
    auth: GitAuth,
    identity: Identity,
    state: ConversationState,
) -> None:
    """Attach `state` to the commit it names and push the branch's notes ref."""
    if not state.head_sha:
        return
    ref = notes_ref(worktree.branch)
    who = {
        "GIT_AUTHOR_NAME": identity.name,
        "GIT_AUTHOR_EMAIL": identity.email,
        "GIT_COMMITTER_NAME": identity.name,
        "GIT_COMMITTER_EMAIL": identity.email,
    }
    _git(
        worktree,
        "notes",
        f"--ref={ref}",
        "add",
        "-f",
        "-F",
        "-",
        state.head_sha,
        input=state.model_dump_json(),
        env=who,
    )
    # Forced: the ref is this branch's alone, and only its newest notes matter.
    _git(
        worktree,
        "push",
        "--porcelain",
        "--no-verify",
        clone_url,
        f"+{ref}:{ref}",
        auth=auth,
        protocols=(url_scheme(clone_url),),
    )


def fetch_state_note(worktree: Worktree, clone_url: str, auth: GitAuth) -> ConversationState | None:
    """The conversation of the newest commit of the worktree's start that has a note; None
    when the branch has none (a first run) or the remote has no notes for it."""
    ref = notes_ref(worktree.branch)
    try:
        _git(
            worktree,
            "fetch",
            "--no-tags",
            "--quiet",
            clone_url,
            f"+{ref}:{ref}",
            auth=auth,
            protocols=(url_scheme(clone_url),),
        )
    except GitError:
        return None  # no notes pushed for this branch (the usual first run)
    shas = _git(worktree, "rev-list", f"--max-count={SEARCH_DEPTH}", "HEAD").split()
    for sha in shas:
        try:
            text = _git(worktree, "notes", f"--ref={ref}", "show", sha)
        except GitError:
            continue
        try:
            return ConversationState.model_validate_json(text)
        except ValidationError:
            log.warning("the resume note on %s is not a conversation: ignored", sha[:7])
            return None
    return None


def noting(
    emit: Callable[[SessionEvent], None],
    worktree: Worktree,
    clone_url: str,
    git_token: Callable[[], str | None],
    identity: Identity,
) -> Callable[[SessionEvent], None]:
    """`emit`, and each `resume_state` also kept as a note on the branch (best effort: a note
    that cannot be pushed costs the next run its conversation, never this run its work)."""

    def emit_and_note(event: SessionEvent) -> None:
        emit(event)
        if isinstance(event, ResumeState) and not event.state.finished:
            try:
                push_state_note(worktree, clone_url, GitAuth(git_token()), identity, event.state)
            except GitError as error:
                log.warning("could not push the resume note: %s", error)

    return emit_and_note

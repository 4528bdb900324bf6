"""Checkpoints: the work in progress, committed and pushed to the session branch at an interval
(`AUTOCODER_CHECKPOINT_MINUTES`), so a crash, a kill -9 or a lost machine loses at most one
interval. Each checkpoint also records the conversation (`runner.conversation_state`) as a
`resume_state` event, tied to the head it pushed: the next attempt continues from both.

Checkpoint commits carry `Autocoder-Checkpoint: <n>` next to the usual `Autocoder-Session:`
trailer. With `.github/autocoder.yml` `squash_checkpoints: true` the session's final commit
replaces the run of checkpoint commits at the top of the branch (`squash_base`); the push that
follows is a lease on the head autocoder itself pushed last, and the run never reaches past a
commit that is not an autocoder checkpoint: nothing but autocoder's own checkpoints is ever
pushed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from runner.conversation_state import ConversationState, Transcript
from runner.events import CommitPushed, ResumeState, SessionEvent
from runner.workspace import GitAuth, Identity, Worktree, run_git
from runner.workspace.errors import GitError
from runner.workspace.identity import same_email

log = logging.getLogger(__name__)

CHECKPOINT_TRAILER = "Autocoder-Checkpoint"


def checkpoint_message(number: int, subject: str) -> str:
    """A checkpoint's commit message: its own trailer, the rest added by `commit_all`."""
    return f"Checkpoint {number}: {subject} (work in progress)\n\n{CHECKPOINT_TRAILER}: {number}\n"


def _git(worktree: Worktree, *args: str) -> str:
    return run_git(list(args), worktree.path, git_dir=worktree.git_dir, work_tree=worktree.path)


def is_checkpoint(worktree: Worktree, sha: str, identity: Identity) -> bool:
    """An autocoder checkpoint: its trailer, and autocoder's identity as author and committer."""
    out = _git(
        worktree,
        "log",
        "-1",
        f"--format=%ae%x1f%ce%x1f%(trailers:key={CHECKPOINT_TRAILER},valueonly)",
        sha,
    )
    author, _, rest = out.partition("\x1f")
    committer, _, trailer = rest.partition("\x1f")
    return (
        bool(trailer.strip())
        and same_email(identity, author.strip())
        and same_email(identity, committer.strip())
    )


def squash_base(worktree: Worktree, identity: Identity) -> str | None:
    """The parent of the run of autocoder checkpoint commits at the top of the branch (None:
    the head is not one). Stops at the first commit that is not a checkpoint, a merge or the
    root."""
    sha = worktree.head_sha()
    base = None
    while True:
        parents = _git(worktree, "rev-list", "--parents", "-n", "1", sha).split()[1:]
        if len(parents) != 1 or not is_checkpoint(worktree, sha, identity):
            return base
        base = sha = parents[0]


def squash_checkpoints(worktree: Worktree, identity: Identity) -> int:
    """Undo the checkpoint commits at the top of the branch, keeping their changes staged for
    the final commit; returns how many were squashed."""
    base = squash_base(worktree, identity)
    if base is None:
        return 0
    count = int(_git(worktree, "rev-list", "--count", f"{base}..HEAD").strip())
    _git(worktree, "reset", "--soft", base)
    return count


class Checkpointer:
    def __init__(
        self,
        worktree: Worktree,
        *,
        clone_url: str,
        git_token: Callable[[], str | None],
        identity: Identity,
        session_id: str,
        subject: str,
        interval_s: float,
        transcript: Transcript | None,
        emit: Callable[[SessionEvent], None],
        say: Callable[[str], None],
    ) -> None:
        self.worktree = worktree
        self.clone_url = clone_url
        self.git_token = git_token
        self.identity = identity
        self.session_id = session_id
        self.subject = subject
        self.interval_s = interval_s
        self.transcript = transcript
        self.emit = emit
        self.say = say
        self.count = 0
        self.pushed_sha: str | None = None
        self._lock = asyncio.Lock()

    async def run_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                # Shielded: cancelling the interval never interrupts a commit half-way.
                await asyncio.shield(self.checkpoint())
            except Exception as error:  # a failed checkpoint must not end the session
                log.warning("checkpoint failed: %s", error)
                self.say(f"⚠️ checkpoint failed: {error}")

    async def close(self, ticking: asyncio.Task[None]) -> None:
        """Stop the interval; a checkpoint under way finishes first (its git commands must not
        race the session's final commit)."""
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking
        async with self._lock:
            pass

    async def checkpoint(self) -> str | None:
        """Commit and push the work so far (when there is any), then record the conversation;
        returns the head pushed."""
        async with self._lock:
            # The conversation as it is now: the commit below holds at least this much work.
            state = self.transcript.snapshot(None) if self.transcript is not None else None
            head = await asyncio.to_thread(self._commit_and_push)
            if state is not None and head is not None:
                self.emit(ResumeState(state=state.model_copy(update={"head_sha": head})))
            return head

    def _commit_and_push(self) -> str | None:
        number = self.count + 1
        committed = self.worktree.commit_all(
            checkpoint_message(number, self.subject),
            author=self.identity,
            co_authors=(),
            session_id=self.session_id,
        )
        if committed.sha is not None:
            self.count = number
        head = self.worktree.head_sha()
        if head == self.pushed_sha or (self.count == 0 and head == self.worktree.base_sha):
            return self.pushed_sha  # nothing new (or nothing of the session's yet) to push
        try:
            pushed = self.worktree.push(self.clone_url, GitAuth(self.git_token()))
        except GitError as error:
            log.warning("checkpoint push failed: %s", error)
            return self.pushed_sha
        self.pushed_sha = pushed
        self.emit(CommitPushed(branch=self.worktree.branch, sha=pushed))
        self.say(f"checkpoint {self.count}: pushed {pushed[:7]} to {self.worktree.branch}")
        return pushed


def resume_fits(worktree_path: Path, git_dir: Path, state: ConversationState | None) -> bool:
    """Whether a stored conversation belongs to the branch the worktree starts from: its head
    is the start or an ancestor of it (a branch deleted or merged since starts over)."""
    if state is None or state.finished or not state.head_sha:
        return False
    try:
        run_git(
            ["merge-base", "--is-ancestor", state.head_sha, "HEAD"],
            worktree_path,
            git_dir=git_dir,
            work_tree=worktree_path,
        )
    except GitError:
        return False
    return True

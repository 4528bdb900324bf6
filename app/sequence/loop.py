"""What the server keeps current for every spec's sequence, in the background (a session never
waits on it): the spec issue's progress comment (one comment, found again by its hidden marker
and edited when the text changes) and a `test_progress` notification whenever the passing count
rises. Reads the mirror in one short transaction, talks to GitHub outside any, writes back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from app.db.models import FeatureSequence
from app.github_app import AppGitHub
from app.sequence import sequencer
from app.sequence.notify import Notifier, progress_payload
from app.sequence.plan import PROGRESS_MARKER, ProgressView, render_progress
from runner.features.queue import stats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Due:
    id: int
    repository: str
    spec: int
    installation_id: int | None
    comment_id: int | None
    body: str | None  # None: the comment is current
    passing: int
    total: int
    notified: int


class SequenceLoop:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        github: AppGitHub | None,
        notifier: Notifier | None,
        *,
        interval_s: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._github = github
        self._notifier = notifier
        self._interval_s = interval_s
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sequences", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._notifier is not None:
            self._notifier.close()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.tick()
            except Exception:
                log.exception("keeping the sequences' progress current failed")

    def tick(self) -> None:
        for due in self._due():
            notified = due.notified
            if due.passing > due.notified:
                if self._notifier is not None:
                    project = due.repository
                    self._notifier.send(
                        progress_payload(due.passing, due.total, project, self._clock())
                    )
                notified = due.passing
            comment_id = due.comment_id
            posted = None
            if due.body is not None and self._github is not None and due.installation_id:
                try:
                    comment_id = self._post(due, due.installation_id)
                    posted = due.body
                except Exception as error:
                    log.warning("progress of %s#%s: %s", due.repository, due.spec, error)
            with self._sessions() as db, db.begin():
                row = db.get(FeatureSequence, due.id)
                if row is None:
                    continue
                row.passing_notified = max(row.passing_notified, notified)
                if posted is not None:
                    row.progress_posted = posted
                    row.progress_comment_id = comment_id

    def _due(self) -> list[_Due]:
        due = []
        with self._sessions() as db:
            for row in sequencer.all_sequences(db):
                planned = sequencer.features(db, row.repository, row.spec_number)
                running = row.current_feature if row.current_job_id is not None else None
                view = ProgressView(row.state, running, row.note, tuple(row.attempted))
                body = render_progress(planned, view)
                counts = stats(planned)
                due.append(
                    _Due(
                        row.id,
                        row.repository,
                        row.spec_number,
                        row.installation_id,
                        row.progress_comment_id,
                        body if body != row.progress_posted else None,
                        counts.passing,
                        counts.total,
                        row.passing_notified,
                    )
                )
        return due

    def _post(self, due: _Due, installation_id: int) -> int:
        assert self._github is not None and due.body is not None
        with self._github.client(installation_id) as github:
            comment_id = due.comment_id
            if comment_id is None:
                found = github.find_issue_comment(due.repository, due.spec, PROGRESS_MARKER)
                comment_id = found.id if found is not None else None
            if comment_id is None:
                return github.create_issue_comment(due.repository, due.spec, due.body).id
            github.edit_issue_comment(due.repository, comment_id, due.body)
            return comment_id

"""`GitHubClient`'s check run calls: create (safe to retry through its external id), update
and list, with the statuses and conclusions GitHub accepts checked before sending."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from runner.github.checks import action_payload, build_output
from runner.github.client_base import ClientBase, _repo_path
from runner.github.convert import check_run_from_json
from runner.github.types import CheckRunAction, CheckRunInfo

CHECK_STATUSES = frozenset(
    {"queued", "in_progress", "completed", "waiting", "requested", "pending"}
)
CHECK_CONCLUSIONS = frozenset(
    {
        "action_required",
        "cancelled",
        "failure",
        "neutral",
        "success",
        "skipped",
        "stale",
        "timed_out",
    }
)


class CheckRunCalls(ClientBase):
    """Check run calls."""

    # -- check runs -----------------------------------------------------------------------------

    def create_check_run(
        self,
        repo: str,
        *,
        name: str,
        head_sha: str,
        status: str = "in_progress",
        title: str,
        summary: str,
        text: str | None = None,
        actions: Sequence[CheckRunAction] = (),
        conclusion: str | None = None,
        details_url: str | None = None,
        external_id: str | None = None,
    ) -> CheckRunInfo:
        """Create a check run on `head_sha` (already `completed` when given a conclusion).
        Summary and text are cut to GitHub's limit.

        `external_id` (default: a fresh random id) makes the create safe to retry: after an
        ambiguous failure, a run with this name and external id on `head_sha` is looked up."""
        _check_status(status, conclusion)
        ext_id = external_id or uuid.uuid4().hex
        payload: dict[str, Any] = {
            "name": name,
            "head_sha": head_sha,
            "status": status,
            "output": build_output(title, summary, text),
            "external_id": ext_id,
        }
        if actions:
            payload["actions"] = action_payload(actions)
        if conclusion is not None:
            payload["conclusion"] = conclusion
        if details_url is not None:
            payload["details_url"] = details_url
        operation = f"creating check run {name!r} in {repo}"

        def post() -> CheckRunInfo:
            data = self._send(operation, "POST", f"{_repo_path(repo)}/check-runs", payload)
            return check_run_from_json(data)

        def lookup() -> CheckRunInfo | None:
            for data in self._check_run_payloads(repo, head_sha, name):
                if data.get("external_id") == ext_id:
                    return check_run_from_json(data)
            return None

        return self._create_once(operation, post, lookup)

    def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        actions: Sequence[CheckRunAction] | None = None,
    ) -> CheckRunInfo:
        """Change a check run. A conclusion completes it; output needs `title` and `summary`
        together (GitHub's rule); `actions=()` removes the buttons."""
        if status is not None or conclusion is not None:
            _check_status(status or "completed", conclusion)
        payload: dict[str, Any] = {}
        if status is not None:
            payload["status"] = status
        if conclusion is not None:
            payload["conclusion"] = conclusion
        if title is not None or summary is not None or text is not None:
            if title is None or summary is None:
                raise ValueError("a check run's output needs both title and summary")
            payload["output"] = build_output(title, summary, text)
        if actions is not None:
            payload["actions"] = action_payload(actions)
        operation = f"updating check run {check_run_id} in {repo}"
        path = f"{_repo_path(repo)}/check-runs/{int(check_run_id)}"
        return check_run_from_json(self._send(operation, "PATCH", path, payload))

    def _check_run_payloads(self, repo: str, ref: str, name: str | None) -> list[dict[str, Any]]:
        operation = f"listing check runs on {ref} in {repo}"
        params = {"check_name": name} if name else None
        items = self._http.paginate(
            operation, f"{_repo_path(repo)}/commits/{ref}/check-runs", params, key="check_runs"
        )
        return [item for item in items if isinstance(item, dict)]

    def list_check_runs(self, repo: str, ref: str, name: str | None = None) -> list[CheckRunInfo]:
        return [check_run_from_json(d) for d in self._check_run_payloads(repo, ref, name)]


def _check_status(status: str, conclusion: str | None) -> None:
    if status not in CHECK_STATUSES:
        raise ValueError(
            f"check run status must be one of {sorted(CHECK_STATUSES)}, got {status!r}"
        )
    if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
        raise ValueError(
            f"check run conclusion must be one of {sorted(CHECK_CONCLUSIONS)}, got {conclusion!r}"
        )
    if status == "completed" and conclusion is None:
        raise ValueError("a completed check run needs a conclusion")

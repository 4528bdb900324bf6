"""What autocoder says on an issue when it answers a command or refuses one. Pure text."""

from __future__ import annotations

from app.db.models import AgentStatus, Feature, SessionRecord

COMMANDS_HELP = (
    "Commands: `/autocoder run` (start), `/autocoder stop`, `/autocoder retry`, "
    "`/autocoder status`."
)

_STATUS_WORDS = {
    AgentStatus.PENDING.value: "nothing queued",
    AgentStatus.QUEUED.value: "a session is queued",
    AgentStatus.RUNNING.value: "a session is running",
    AgentStatus.PR_OPEN.value: "a pull request is open",
    AgentStatus.DONE.value: "done",
    AgentStatus.FAILED.value: "the last session failed",
}


def refusal(reason: str, trigger_label: str) -> str:
    return (
        f"autocoder did not start: {reason}.\n\n"
        f"Someone with write access can add the `{trigger_label}` label or comment "
        "`/autocoder run`."
    )


def queued(kind: str, actor: str | None, job_id: int) -> str:
    what = {"start": "a session", "retry": "a new session", "follow_up": "a follow-up session"}
    who = f" for @{actor}" if actor else ""
    return f"Queued {what.get(kind, 'a session')}{who} (job {job_id})."


def already_active(state: str) -> str:
    return (
        f"A session for this issue is already {state}; not starting another. "
        "Comment `/autocoder stop` to stop it."
    )


def stopped(count: int) -> str:
    if count == 0:
        return "Nothing to stop: no session is queued or running for this issue."
    return f"Stopping {count} queued or running session{'s' if count != 1 else ''}."


def status(
    number: int,
    feature: Feature | None,
    session: SessionRecord | None,
    active_state: str | None,
) -> str:
    agent = feature.agent_status if feature is not None else AgentStatus.PENDING.value
    lines = [f"**autocoder status for #{number}**: {_STATUS_WORDS.get(agent, agent)}."]
    if active_state:
        lines.append(f"- current job: {active_state}")
    if session is not None:
        when = session.finished_at or session.started_at
        lines.append(
            f"- last session ({when:%Y-%m-%d %H:%M} UTC): "
            f"{session.conclusion or 'running'}, {session.turns} turns, "
            f"${session.cost_usd:.2f}"
        )
        if session.pull_request_url:
            lines.append(f"- pull request: {session.pull_request_url}")
        if session.check_run_url:
            lines.append(f"- check run: {session.check_run_url}")
    lines.append("")
    lines.append(COMMANDS_HELP)
    return "\n".join(lines)


def nothing_running(number: int) -> str:
    return (
        f"No session is running for #{number}, so there is nobody to tell. Comment "
        "`/autocoder continue` to continue the last session, or `/autocoder run` to start one."
    )

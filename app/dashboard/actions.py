"""Start, Stop and Retry from the dashboard: the same decisions the `/autocoder run`, `stop` and
`retry` comments make, applied by the same code (`DeliveryHandler.apply`: queue or cancel,
feature status, the whole in one transaction), recorded as a delivery of its own
(`dashboard-<id>`, event `dashboard`) whose outcome names the signed-in person, who is also the
job's actor.

Who may press them is decided by the dashboard's sign-in (`access`): this machine's user when
remote access is off, the configured dashboard user otherwise — the operator of this server, who
needs no GitHub permission check.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from app.webhooks.handler import DeliveryHandler, Outcome
from runner.decide import Action, Decision

EVENT = "dashboard"


class Command(enum.StrEnum):
    START = "start"
    STOP = "stop"
    RETRY = "retry"

    @property
    def action(self) -> Action:
        return {Command.START: Action.START, Command.STOP: Action.CANCEL}.get(self, Action.RETRY)

    @property
    def button(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class Target:
    repository: str
    issue_number: int
    installation_id: int | None


def decision_for(command: Command, target: Target, person: str) -> Decision:
    """The decision the matching `/autocoder` comment by `person` would yield (pure)."""
    return Decision(
        command.action,
        f"@{person} pressed {command.button} on the dashboard",
        repository=target.repository,
        issue_number=target.issue_number,
        actor=person,
        installation_id=target.installation_id,
    )


def apply_command(
    handler: DeliveryHandler, command: Command, target: Target, person: str
) -> Outcome:
    decision = decision_for(command, target, person)
    delivery_id = f"{EVENT}-{uuid.uuid4().hex}"
    return handler.apply(EVENT, delivery_id, {}, decision)

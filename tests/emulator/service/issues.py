"""Issues, labels, comments and reactions: the changes and the webhooks they cause.

Called by the REST routes and by the control API ("act as a user") alike, so both cause
exactly the same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import Emu
from ..errors import invalid_field, not_found, validation_failed
from ..payloads import REACTION_CONTENTS
from ..state import Comment, Issue, IssueEvent, Label, Reaction, Repo, User, node_id


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a person, or an app's bot user (then `app_id` is the app)."""

    user: User
    app_id: int | None = None


def issue_of(repo: Repo, number: int) -> Issue:
    issue = repo.issues.get(number)
    if issue is None:
        raise not_found()
    return issue


def issue_event(
    emu: Emu, repo: Repo, issue: Issue, actor: Actor, action: str, **extra: Any
) -> None:
    """`issues.<action>`, or `pull_request.<action>` when the issue is a pull request."""
    if issue.is_pull:
        body: dict[str, Any] = {
            "action": action,
            "number": issue.number,
            "pull_request": emu.shapes.pull(repo, repo.pulls[issue.number]),
        }
        body.update(extra)
        emu.emit(repo, "pull_request", actor.user, body)
        return
    body = {"action": action, "issue": emu.shapes.issue(repo, issue)}
    body.update(extra)
    emu.emit(repo, "issues", actor.user, body)


def touch(emu: Emu, repo: Repo, issue: Issue) -> None:
    issue.updated_at = emu.clock.now()
    repo.updated_at = issue.updated_at


def record_label_event(emu: Emu, issue: Issue, actor: Actor, event: str, label: Label) -> None:
    """Keep a `labeled` / `unlabeled` entry for the issue's events and timeline APIs, at the
    issue's `updated_at` (the moment the change was made, as the webhook payload shows it)."""
    number = emu.world.new_id()
    prefix = "LE_" if event == "labeled" else "UNLE_"
    issue.events.append(
        IssueEvent(
            id=number,
            node_id=node_id(prefix, number),
            event=event,
            actor=actor.user,
            created_at=issue.updated_at,
            label_name=label.name,
            label_color=label.color,
            app_id=actor.app_id,
        )
    )


def open_issue(
    emu: Emu,
    repo: Repo,
    actor: Actor,
    title: Any,
    body: Any = None,
    labels: list[str] | None = None,
    assignees: list[str] | None = None,
    *,
    is_pull: bool = False,
) -> Issue:
    if not isinstance(title, str) or not title.strip():
        raise validation_failed({"resource": "Issue", "code": "missing_field", "field": "title"})
    now = emu.clock.now()
    number = emu.world.new_id()
    issue = Issue(
        number=repo.take_number(),
        id=number,
        node_id=node_id("I_" if not is_pull else "PRI_", number),
        title=title,
        body=body,
        user=actor.user,
        created_at=now,
        updated_at=now,
        is_pull=is_pull,
        app_id=actor.app_id,
    )
    for name in labels or []:
        label = ensure_label(emu, repo, name)
        if label.name not in issue.labels:
            issue.labels.append(label.name)
    issue.assignees = [a for a in (assignees or []) if emu.world.user(a) is not None]
    repo.issues[issue.number] = issue
    if not is_pull:
        # like GitHub: `opened` (with the labels already on), then `labeled` per label
        issue_event(emu, repo, issue, actor, "opened")
        for name in issue.labels:
            label = repo.labels[name.lower()]
            record_label_event(emu, issue, actor, "labeled", label)
            issue_event(emu, repo, issue, actor, "labeled", label=emu.shapes.label(repo, label))
    return issue


def ensure_label(emu: Emu, repo: Repo, name: str) -> Label:
    """The repository's label named `name`, created (color ededed) as GitHub does if missing."""
    if not isinstance(name, str) or not name.strip():
        raise invalid_field("Label", "name")
    label = repo.labels.get(name.lower())
    if label is None:
        label = emu.new_label(repo, name)
    return label


def add_labels(emu: Emu, repo: Repo, issue: Issue, actor: Actor, names: list[str]) -> None:
    for name in names:
        label = ensure_label(emu, repo, name)
        if label.name in issue.labels:
            continue
        issue.labels.append(label.name)
        touch(emu, repo, issue)
        record_label_event(emu, issue, actor, "labeled", label)
        issue_event(emu, repo, issue, actor, "labeled", label=emu.shapes.label(repo, label))


def remove_label(emu: Emu, repo: Repo, issue: Issue, actor: Actor, name: str) -> None:
    current = next((n for n in issue.labels if n.lower() == name.lower()), None)
    if current is None:
        raise not_found("Label does not exist")
    issue.labels.remove(current)
    touch(emu, repo, issue)
    label = repo.labels.get(current.lower())
    if label is not None:
        record_label_event(emu, issue, actor, "unlabeled", label)
    extra = {"label": emu.shapes.label(repo, label)} if label else {}
    issue_event(emu, repo, issue, actor, "unlabeled", **extra)


def set_labels(emu: Emu, repo: Repo, issue: Issue, actor: Actor, names: list[str]) -> None:
    wanted = {n.lower() for n in names}
    for current in list(issue.labels):
        if current.lower() not in wanted:
            remove_label(emu, repo, issue, actor, current)
    add_labels(emu, repo, issue, actor, names)


def edit_issue(emu: Emu, repo: Repo, issue: Issue, actor: Actor, fields: dict[str, Any]) -> None:
    """Apply a PATCH: title, body, state (+ state_reason), labels, assignees."""
    changes: dict[str, Any] = {}
    for key in ("title", "body"):
        if key in fields and fields[key] != getattr(issue, key):
            value = fields[key]
            if key == "title" and (not isinstance(value, str) or not value.strip()):
                raise validation_failed(
                    {"resource": "Issue", "code": "missing_field", "field": "title"}
                )
            if value is not None and not isinstance(value, str):
                raise invalid_field("Issue", key)
            changes[key] = {"from": getattr(issue, key)}
            setattr(issue, key, value)
    if changes:
        touch(emu, repo, issue)
        issue_event(emu, repo, issue, actor, "edited", changes=changes)
    if "labels" in fields and fields["labels"] is not None:
        names = [n["name"] if isinstance(n, dict) else n for n in fields["labels"]]
        set_labels(emu, repo, issue, actor, names)
    if "assignees" in fields and fields["assignees"] is not None:
        set_assignees(emu, repo, issue, actor, list(fields["assignees"]))
    if "assignee" in fields and "assignees" not in fields:
        login = fields["assignee"]
        set_assignees(emu, repo, issue, actor, [login] if login else [])
    state = fields.get("state")
    if state is not None:
        if state not in ("open", "closed"):
            raise invalid_field("Issue", "state")
        set_state(emu, repo, issue, actor, state, fields.get("state_reason"))


def set_assignees(emu: Emu, repo: Repo, issue: Issue, actor: Actor, logins: list[str]) -> None:
    known = [emu.world.user(login) for login in logins]
    wanted = [u.login for u in known if u is not None]
    for login in list(issue.assignees):
        if login not in wanted:
            issue.assignees.remove(login)
            touch(emu, repo, issue)
            user = emu.world.user(login)
            extra = {"assignee": emu.shapes.user(user)} if user else {}
            issue_event(emu, repo, issue, actor, "unassigned", **extra)
    for login in wanted:
        if login not in issue.assignees:
            issue.assignees.append(login)
            touch(emu, repo, issue)
            user = emu.world.user(login)
            assert user is not None
            issue_event(emu, repo, issue, actor, "assigned", assignee=emu.shapes.user(user))


def set_state(
    emu: Emu, repo: Repo, issue: Issue, actor: Actor, state: str, reason: str | None = None
) -> None:
    if state == issue.state:
        return
    issue.state = state
    touch(emu, repo, issue)
    if state == "closed":
        issue.closed_at = emu.clock.now()
        issue.closed_by = actor.user
        issue.state_reason = reason or ("completed" if not issue.is_pull else None)
        issue_event(emu, repo, issue, actor, "closed")
    else:
        issue.closed_at = None
        issue.closed_by = None
        issue.state_reason = "reopened" if not issue.is_pull else None
        issue_event(emu, repo, issue, actor, "reopened")


def create_comment(emu: Emu, repo: Repo, issue: Issue, actor: Actor, body: Any) -> Comment:
    if not isinstance(body, str) or not body:
        raise validation_failed(
            {"resource": "IssueComment", "code": "missing_field", "field": "body"}
        )
    now = emu.clock.now()
    number = emu.world.new_id()
    comment = Comment(
        id=number,
        node_id=node_id("IC_", number),
        issue_number=issue.number,
        user=actor.user,
        body=body,
        created_at=now,
        updated_at=now,
        app_id=actor.app_id,
    )
    repo.comments[comment.id] = comment
    issue.comment_ids.append(comment.id)
    touch(emu, repo, issue)
    comment_event(emu, repo, comment, actor, "created")
    return comment


def comment_event(
    emu: Emu, repo: Repo, comment: Comment, actor: Actor, action: str, **extra: Any
) -> None:
    issue = repo.issues[comment.issue_number]
    body: dict[str, Any] = {
        "action": action,
        "issue": emu.shapes.issue(repo, issue),
        "comment": emu.shapes.comment(repo, comment),
    }
    body.update(extra)
    emu.emit(repo, "issue_comment", actor.user, body)


def comment_of(repo: Repo, comment_id: int) -> Comment:
    comment = repo.comments.get(comment_id)
    if comment is None:
        raise not_found()
    return comment


def edit_comment(emu: Emu, repo: Repo, comment: Comment, actor: Actor, body: Any) -> None:
    if not isinstance(body, str) or not body:
        raise validation_failed(
            {"resource": "IssueComment", "code": "missing_field", "field": "body"}
        )
    if body == comment.body:
        return
    old = comment.body
    comment.body = body
    comment.updated_at = emu.clock.now()
    comment_event(emu, repo, comment, actor, "edited", changes={"body": {"from": old}})


def delete_comment(emu: Emu, repo: Repo, comment: Comment, actor: Actor) -> None:
    comment_event(emu, repo, comment, actor, "deleted")
    issue = repo.issues[comment.issue_number]
    issue.comment_ids.remove(comment.id)
    del repo.comments[comment.id]


def add_reaction(
    emu: Emu, reactions: list[Reaction], actor: Actor, content: Any
) -> tuple[Reaction, bool]:
    """(reaction, created): an existing reaction of the same user and content is returned."""
    if content not in REACTION_CONTENTS:
        raise invalid_field("Reaction", "content")
    for reaction in reactions:
        if reaction.user.id == actor.user.id and reaction.content == content:
            return reaction, False
    number = emu.world.new_id()
    reaction = Reaction(number, node_id("REA_", number), actor.user, content, emu.clock.now())
    reactions.append(reaction)
    return reaction, True

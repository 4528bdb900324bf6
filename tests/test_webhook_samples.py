"""The vendored webhook payload examples, checked against GitHub's vendored webhook schemas.

Reads only tests/samples/webhooks/ and tests/openapi/*.json; no npm, no network.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.openapi import extract as openapi_extract
from tests.openapi.validator import OpenAPIValidator
from tests.samples import extract_webhook_examples as samples_extract

SAMPLES = Path(__file__).resolve().parent / "samples" / "webhooks"

# GitHub's own examples (from @octokit/webhooks-examples) that GitHub's own webhook schemas
# (from @octokit/openapi) reject. Not loosened: pinned here, so they stay visible and a new
# package version that changes them is noticed. Two kinds:
# - stale examples: fields added to the schemas' `required` lists after the example was
#   recorded (has_discussions, topics, visibility, app_slug, auto_merge, reactions, ...);
# - payloads GitHub really sent in an older shape: installation created_at/updated_at as Unix
#   timestamps (integers; the schema says a date-time string), and check_run app timestamps as
#   "2018-04-25 20:42:10" (not RFC 3339).
# file name -> problems, without the "webhook <name>: " prefix.
KNOWN_MISMATCHES: dict[str, tuple[str, ...]] = {
    "check_run.rerequested.1.json": (
        "at $.check_run: 'node_id' is a required property",
        "at $.check_run: 'details_url' is a required property",
        "at $.check_run.app: 'permissions' is a required property",
        "at $.check_run.app: 'events' is a required property",
        "at $.check_run.app.created_at: '2018-04-25 20:42:10' is not a 'date-time'",
        "at $.check_run.app.updated_at: '2018-04-25 20:42:10' is not a 'date-time'",
        "at $.check_run.check_suite.app: 'permissions' is a required property",
        "at $.check_run.check_suite.app: 'events' is a required property",
        "at $.check_run.check_suite.app.created_at: '2018-04-25 20:42:10' is not a 'date-time'",
        "at $.check_run.check_suite.app.updated_at: '2018-04-25 20:42:10' is not a 'date-time'",
        "at $.repository: 'disabled' is a required property",
    ),
    "check_run.rerequested.2.json": (
        "at $.check_run: 'node_id' is a required property",
        "at $.check_run: 'details_url' is a required property",
        "at $.check_run.app: 'permissions' is a required property",
        "at $.check_run.app: 'events' is a required property",
        "at $.check_run.app.created_at: '2018-04-25 20:42:10' is not a 'date-time'",
        "at $.check_run.app.updated_at: '2018-04-25 20:42:10' is not a 'date-time'",
        "at $.check_run.check_suite.app: 'permissions' is a required property",
        "at $.check_run.check_suite.app: 'events' is a required property",
        "at $.check_run.check_suite.app.created_at: '2018-04-25 20:42:10' is not a 'date-time'",
        "at $.check_run.check_suite.app.updated_at: '2018-04-25 20:42:10' is not a 'date-time'",
        "at $.repository: 'disabled' is a required property",
    ),
    "installation.created.1.json": (
        "at $.installation: 'app_slug' is a required property",
        "at $.installation.created_at: 1557933591 is not of type 'string'",
        "at $.installation.updated_at: 1557933591 is not of type 'string'",
    ),
    "installation.created.2.json": (
        "at $.installation: 'app_slug' is a required property",
        "at $.installation.created_at: 1557933591 is not of type 'string'",
        "at $.installation.updated_at: 1557933591 is not of type 'string'",
    ),
    "installation.deleted.1.json": (
        "at $.installation: 'app_slug' is a required property",
        "at $.installation: 'suspended_by' is a required property",
        "at $.installation: 'suspended_at' is a required property",
        "at $.installation.created_at: 1525109898 is not of type 'string'",
        "at $.installation.updated_at: 1525109899 is not of type 'string'",
    ),
    "installation.deleted.2.json": (
        "at $.installation: 'app_slug' is a required property",
        "at $.installation.created_at: 1525109898 is not of type 'string'",
        "at $.installation.updated_at: 1525109899 is not of type 'string'",
    ),
    "installation_repositories.added.1.json": (
        "at $: 'requester' is a required property",
        "at $.installation: 'app_slug' is a required property",
        "at $.installation: 'suspended_by' is a required property",
        "at $.installation: 'suspended_at' is a required property",
        "at $.installation.created_at: 1557933591 is not of type 'string'",
        "at $.installation.updated_at: 1557933591 is not of type 'string'",
    ),
    "installation_repositories.added.2.json": (
        "at $.installation: 'app_slug' is a required property",
        "at $.installation.created_at: 1557933591 is not of type 'string'",
        "at $.installation.updated_at: 1557933591 is not of type 'string'",
    ),
    "installation_repositories.removed.json": (
        "at $.installation: 'app_slug' is a required property",
        "at $.installation.created_at: 1525109898 is not of type 'string'",
        "at $.installation.updated_at: 1525109899 is not of type 'string'",
    ),
    "issue_comment.created.1.json": (
        "at $.comment: 'performed_via_github_app' is a required property",
        "at $.comment: 'reactions' is a required property",
        "at $.issue: 'active_lock_reason' is a required property",
        "at $.issue: 'reactions' is a required property",
        "at $.issue.labels[0]: 'description' is a required property",
        "at $.issue.labels[0]: 'description' is a required property",
    ),
    "issues.edited.1.json": (
        "at $.issue: 'active_lock_reason' is a required property",
        "at $.issue: 'reactions' is a required property",
        "at $.issue.labels[0]: 'description' is a required property",
    ),
    "pull_request.opened.1.json": ("at $.pull_request: 'auto_merge' is a required property",),
    "pull_request.synchronize.json": (
        "at $.pull_request.base.repo: 'has_discussions' is a required property",
        "at $.pull_request.head.repo: 'has_discussions' is a required property",
    ),
    "pull_request_review.submitted.1.json": (
        "at $.pull_request: 'draft' is a required property",
        "at $.pull_request: 'auto_merge' is a required property",
        "at $.pull_request: 'active_lock_reason' is a required property",
        "at $.pull_request.base.repo: 'has_discussions' is a required property",
        "at $.pull_request.base.repo: 'topics' is a required property",
        "at $.pull_request.base.repo: 'visibility' is a required property",
        "at $.pull_request.head.repo: 'has_discussions' is a required property",
        "at $.pull_request.head.repo: 'topics' is a required property",
        "at $.pull_request.head.repo: 'visibility' is a required property",
    ),
    "pull_request_review.submitted.2.json": (
        "at $.pull_request.base.repo: 'has_discussions' is a required property",
        "at $.pull_request.head.repo: 'has_discussions' is a required property",
    ),
    "pull_request_review.submitted.3.json": (
        "at $.pull_request.base.repo: 'has_discussions' is a required property",
        "at $.pull_request.head.repo: 'has_discussions' is a required property",
    ),
    "pull_request_review_comment.created.1.json": (
        "at $.comment: 'start_line' is a required property",
        "at $.comment: 'original_start_line' is a required property",
        "at $.comment: 'original_line' is a required property",
        "at $.comment: 'line' is a required property",
        "at $.comment: 'start_side' is a required property",
        "at $.comment: 'side' is a required property",
        "at $.comment: 'reactions' is a required property",
        "at $.pull_request: 'active_lock_reason' is a required property",
        "at $.pull_request.base.repo: 'has_discussions' is a required property",
        "at $.pull_request.base.repo: 'topics' is a required property",
        "at $.pull_request.base.repo: 'visibility' is a required property",
        "at $.pull_request.head.repo: 'topics' is a required property",
        "at $.pull_request.head.repo: 'visibility' is a required property",
    ),
    "pull_request_review_comment.created.2.json": (
        "at $.pull_request.base.repo: 'has_discussions' is a required property",
    ),
    "pull_request_review_comment.created.3.json": (
        "at $.pull_request.base.repo: 'has_discussions' is a required property",
    ),
    "push.1.json": (
        "at $.repository: 'has_discussions' is a required property",
        "at $.repository: 'topics' is a required property",
        "at $.repository: 'visibility' is a required property",
    ),
    "push.2.json": ("at $.repository: 'has_discussions' is a required property",),
    "push.3.json": ("at $.repository: 'has_discussions' is a required property",),
    "push.4.json": ("at $.repository: 'has_discussions' is a required property",),
    "push.5.json": ("at $.repository: 'has_discussions' is a required property",),
    "push.6.json": ("at $.repository: 'has_discussions' is a required property",),
    "push.7.json": ("at $.repository: 'has_discussions' is a required property",),
}

# Vendored schemas the package has no example for.
SCHEMAS_WITHOUT_EXAMPLES = frozenset(
    {
        "issues-closed",
        # events newer than the package's examples
        "sub-issues-sub-issue-added",
        "sub-issues-sub-issue-removed",
        "sub-issues-parent-issue-added",
        "sub-issues-parent-issue-removed",
        "issue-dependencies-blocked-by-added",
        "issue-dependencies-blocked-by-removed",
        "issue-dependencies-blocking-added",
        "issue-dependencies-blocking-removed",
    }
)


def _samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.json"))


def _event(sample: Path) -> str:
    return sample.name.split(".")[0]


@pytest.fixture(scope="module")
def spec() -> OpenAPIValidator:
    return OpenAPIValidator.load()


# Vendored webhook schemas that @octokit/webhooks-examples 7.6.1 has no recorded payload for
# (GitHub added these events after the package's last examples); the emulator's payloads for
# them are checked against the schemas in tests/test_emulator_issue_graph.py.
NO_RECORDED_EXAMPLES = frozenset({"sub_issues", "issue_dependencies"})


def test_every_listed_event_has_samples() -> None:
    events = {_event(sample) for sample in _samples()}
    assert events == set(samples_extract.EVENTS)
    webhook_events = {event for event, _ in openapi_extract.WEBHOOKS}
    assert webhook_events - NO_RECORDED_EXAMPLES == set(samples_extract.EVENTS)
    assert webhook_events >= NO_RECORDED_EXAMPLES


def test_sample_names_match_their_payloads() -> None:
    for sample in _samples():
        payload = json.loads(sample.read_text(encoding="utf-8"))
        parts = sample.name.removesuffix(".json").split(".")
        action = payload.get("action")
        if action is None:
            assert parts[1:] == [] or parts[1].isdigit(), sample.name
        else:
            assert parts[1] == action, sample.name


def test_samples_are_in_the_extractor_format() -> None:
    """What extract_webhook_examples.dump writes: a rerun changes nothing."""
    for sample in _samples():
        text = sample.read_text(encoding="utf-8")
        assert samples_extract.dump(json.loads(text)) == text, sample.name


def test_every_vendored_schema_has_an_example_unless_known(spec: OpenAPIValidator) -> None:
    covered = {
        spec.webhook_key(_event(s), json.loads(s.read_text(encoding="utf-8"))) for s in _samples()
    }
    assert spec.webhook_keys - covered == SCHEMAS_WITHOUT_EXAMPLES


def test_samples_against_githubs_schemas(spec: OpenAPIValidator) -> None:
    """Every sample with a vendored schema passes, or fails exactly as KNOWN_MISMATCHES says."""
    found: dict[str, tuple[str, ...]] = {}
    checked = 0
    for sample in _samples():
        payload = json.loads(sample.read_text(encoding="utf-8"))
        key = spec.webhook_key(_event(sample), payload)
        if key not in spec.webhook_keys:
            continue  # e.g. issues.deleted: autocoder does not handle it, no schema vendored
        checked += 1
        prefix = f"webhook {key}: "
        problems = spec.check_webhook(_event(sample), payload)
        assert all(problem.startswith(prefix) for problem in problems), problems
        if problems:
            found[sample.name] = tuple(sorted(p.removeprefix(prefix) for p in problems))
    expected = {name: tuple(sorted(problems)) for name, problems in KNOWN_MISMATCHES.items()}
    assert found == expected
    assert checked == 55


def test_known_mismatches_name_existing_samples() -> None:
    names = {sample.name for sample in _samples()}
    assert set(KNOWN_MISMATCHES) <= names


def test_licence_is_vendored() -> None:
    licence = SAMPLES.parent / "LICENSE-webhooks-examples"
    assert licence.read_text(encoding="utf-8").startswith("The MIT License")

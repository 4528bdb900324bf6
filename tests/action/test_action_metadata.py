"""`action.yml` and the example workflow: valid against GitHub's schemas (SchemaStore's, as
vendored by check-jsonschema), and consistent with what `autocoder action` reads and writes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from action.outcome import OUTPUT_KEYS
from action.settings import ActionRunnerSettings, ActionSettings
from tests.lockfile import LOCK

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / "examples" / "workflows" / "autocoder.yml"
README = ROOT / "docs" / "action.md"

INPUTS = {
    "github_token": "GITHUB_TOKEN",
    "app_id": "AUTOCODER_GITHUB_APP_ID",
    "app_private_key": "AUTOCODER_GITHUB_PRIVATE_KEY",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "claude_code_oauth_token": "CLAUDE_CODE_OAUTH_TOKEN",
    "engine": "AUTOCODER_ENGINE",
    "model": "AUTOCODER_MODEL",
    "base_url": "AUTOCODER_BASE_URL",
    "api_key": "AUTOCODER_API_KEY",
    "trigger_label": "AUTOCODER_TRIGGER_LABEL",
    "max_turns": "AUTOCODER_MAX_TURNS",
    "max_cost_usd": "AUTOCODER_MAX_COST_USD",
    "timeout_minutes": "AUTOCODER_TIMEOUT_MINUTES",
    "allowed_commands": "AUTOCODER_ALLOWED_COMMANDS",
    "draft": "AUTOCODER_DRAFT",
}


def _load(path: Path) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the key `on` as True; GitHub reads it as "on".
    data: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def _check_schema(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    """`check-jsonschema --builtin-schema SCHEMA PATH` (SchemaStore's schemas, vendored)."""
    pytest.importorskip("check_jsonschema", reason="dev dependency check-jsonschema")
    argv = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        pytest.param(ACTION, "vendor.github-actions", id="action.yml"),
        pytest.param(WORKFLOW, "vendor.github-workflows", id="example-workflow"),
    ],
)
def test_valid_against_githubs_schema(path: Path, schema: str) -> None:
    done = _check_schema(path, schema)
    assert done.returncode == 0, done.stdout + done.stderr


def test_schemas_catch_mistakes(tmp_path: Path) -> None:
    """The schema check is not vacuous: a composite run step without `shell` is refused."""
    bad = tmp_path / "action.yml"
    bad.write_text(ACTION.read_text().replace("      shell: bash\n", "", 1))
    assert _check_schema(bad, "vendor.github-actions").returncode != 0


def _run_step(action: dict[str, Any]) -> dict[str, Any]:
    steps = action["runs"]["steps"]
    (step,) = [s for s in steps if s.get("id") == "run"]
    return dict(step)


def test_every_input_is_mapped_onto_the_variable_autocoder_reads() -> None:
    action = _load(ACTION)
    assert set(action["inputs"]) == set(INPUTS)
    env = _run_step(action)["env"]
    for name, variable in INPUTS.items():
        assert env[variable] == f"${{{{ inputs.{name} }}}}", name
    assert action["inputs"]["github_token"]["default"] == "${{ github.token }}"
    for name, spec in action["inputs"].items():
        assert spec.get("required", False) is False, name
        assert spec["description"].strip(), name

    # and autocoder reads each of those variables
    known = set(ActionSettings.model_fields) | set(ActionRunnerSettings.model_fields)
    aliases = {
        str(choice)
        for field in ActionRunnerSettings.model_fields.values()
        if field.validation_alias is not None
        for choice in getattr(field.validation_alias, "choices", [field.validation_alias])
    }
    for variable in INPUTS.values():
        field = variable.removeprefix("AUTOCODER_").lower()
        assert variable in aliases or (variable.startswith("AUTOCODER_") and field in known), (
            variable
        )


def test_outputs_come_from_the_step_and_match_what_it_writes() -> None:
    action = _load(ACTION)
    assert tuple(action["outputs"]) == OUTPUT_KEYS
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


def _install_step(action: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in action["runs"]["steps"] if "pip install" in s.get("run", "")]
    return dict(step)


def test_action_installs_from_its_own_checkout_constrained_by_the_lock() -> None:
    action = _load(ACTION)
    assert action["runs"]["using"] == "composite"
    step = _install_step(action)
    assert step["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    # the repository's one lock, as the tests ran with it: exactly its versions, run-time only
    assert '--constraint "$ACTION_PATH/requirements.lock" "$ACTION_PATH"' in step["run"]
    assert LOCK == ROOT / "requirements.lock"
    assert LOCK.is_file()
    script = "\n".join(s.get("run", "") for s in action["runs"]["steps"])
    assert 'autocoder" action' in script
    # no expression is expanded inside a script (script injection): values go through env
    for each in action["runs"]["steps"]:
        assert "${{" not in each.get("run", ""), each.get("name")


def test_the_actions_python_is_one_the_lock_is_made_for() -> None:
    (setup,) = [s for s in _load(ACTION)["runs"]["steps"] if "setup-python" in s.get("uses", "")]
    assert setup["with"]["python-version"] in ("3.11", "3.12", "3.13")
    assert "--python-version 3.11" in LOCK.read_text().splitlines()[1]


def test_example_workflow() -> None:
    workflow = _load(WORKFLOW)
    triggers = workflow["on"]
    assert triggers["issues"]["types"] == ["labeled"]
    assert triggers["issue_comment"]["types"] == ["created"]
    assert "pull_request_review" in triggers
    assert workflow["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
        "issues": "write",
        "checks": "write",
    }
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert "github.event.issue.number" in workflow["concurrency"]["group"]
    (job,) = workflow["jobs"].values()
    assert "github.event.sender.type != 'Bot'" in job["if"]
    steps = job["steps"]
    assert not any("actions/checkout" in str(s.get("uses", "")) for s in steps)
    assert re.fullmatch(r"[\w.-]+/[\w.-]+@[\w.-]+", steps[0]["uses"])
    assert set(steps[0]["with"]) <= set(INPUTS)


def test_readme_shows_the_example_workflow_verbatim() -> None:
    readme = README.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.S)
    assert WORKFLOW.read_text() in blocks
    for name in INPUTS:
        assert f"`{name}`" in readme, name
    for name in OUTPUT_KEYS:
        assert f"`{name}`" in readme, name

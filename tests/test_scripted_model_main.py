"""`python -m tests.scripted_model` and the pytest fixture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.scripted_model.fixtures import StartModelServer, scripted_model_server  # noqa: F401

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parent.parent


def test_module_serves_a_script_file_and_prints_its_base_url(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("turns:\n  - text: hello from the file\n")
    command = [sys.executable, "-m", "tests.scripted_model", "--kind", "openai"]
    process = subprocess.Popen(
        [*command, "--script", str(script), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        reply = httpx.post(f"{base_url}/chat/completions", json=body, timeout=10).json()
        assert reply["choices"][0]["message"]["content"] == "hello from the file"
        root = base_url.removesuffix("/v1")
        (recorded,) = httpx.get(f"{root}/_scripted/requests", timeout=10).json()
        assert recorded["role"] == "turn" and recorded["body"] == body
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_module_rejects_a_malformed_script_with_a_clear_message(tmp_path: Path) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text("- {text: hi, fault: {status: 429, times: -1}}\n")
    done = subprocess.run(
        [sys.executable, "-m", "tests.scripted_model", "--kind", "anthropic", "--script", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "bad.yaml: turns[0].fault.times: expected an integer >= 1, got -1" in done.stderr


# the fixture is imported above until tests/conftest.py provides it
def test_fixture_starts_servers_for_the_test(
    scripted_model_server: StartModelServer,  # noqa: F811
) -> None:
    anthropic_server = scripted_model_server("anthropic", ["one"])
    openai_server = scripted_model_server("openai", ["two"])
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    answer = httpx.post(f"{anthropic_server.base_url}/v1/messages", json=body, timeout=10)
    assert answer.json()["content"] == [{"type": "text", "text": "one"}]
    answer = httpx.post(f"{openai_server.base_url}/chat/completions", json=body, timeout=10)
    assert answer.json()["choices"][0]["message"]["content"] == "two"
    assert anthropic_server.turns_served == openai_server.turns_served == 1

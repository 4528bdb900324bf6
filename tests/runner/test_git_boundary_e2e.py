"""End to end, the git boundary: a scripted model, through its command tool, plants programs for
host git to run (a nested repository's `core.fsmonitor`, a redirected `commondir`, by shell and
by `python3 -c`), then writes a file. Whole sessions on the emulator, with both engines: nothing
runs on the host, no secret reaches the model or a pushed file, the check run ends, main is
unchanged, and the nested repository is left out of the pull request (the report says so).
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

from runner.task import Conclusion
from tests.emulator.client import Emulator
from tests.runner.session_harness import (
    ENGINES,
    check_runs_for,
    command_turn,
    configure,
    final_turn,
    model_kind,
    run_once,
    write_turn,
)
from tests.scripted_model.server import running_model_server
from tests.world import make_world

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")

HOST_SECRET = "host-secret-value-never-for-the-model-0123"


def _fsmonitor(marker: Path) -> str:
    return f'[core]\n\tfsmonitor = "env > {marker}; false"\n'


def chains(marker: Path) -> list[str]:
    """The attack chains of issue #9, as the model would send them."""
    config = shlex.quote(_fsmonitor(marker))
    nested_py = (
        "import subprocess,pathlib;"
        "subprocess.run(['git','init','-q','pysub']);"
        f"open('pysub/.git/config','a').write({_fsmonitor(marker)!r});"
        "subprocess.run(['git','add','pysub'])"
    )
    commondir_py = (
        "import os,pathlib;p=pathlib.Path('.git');"
        "g=pathlib.Path(p.read_text().split(':',1)[1].strip()) if p.is_file() else p;"
        "d=pathlib.Path('evil');(d/'refs'/'heads').mkdir(parents=True,exist_ok=True);"
        "(d/'objects').mkdir(exist_ok=True);(d/'HEAD').write_text('ref: refs/heads/main\\n');"
        f"(d/'config').write_text({_fsmonitor(marker)!r});"
        "(g/'commondir').write_text(os.path.abspath('evil'))"
    )
    return [
        # 1: nested repository with a hostile fsmonitor, as found
        "git init -q sub && git -C sub commit -q --allow-empty -m s; "
        f"printf '%s' {config} >> sub/.git/config; git add sub",
        # 1 through python3 -c
        "python3 -c " + shlex.quote(nested_py),
        # 2: commondir redirected to a worktree directory whose config sets fsmonitor
        f"mkdir -p evil2 && printf '%s' {config} > evil2/config && "
        "printf '%s\\n' \"$PWD/evil2\" > payload.txt && uniq payload.txt .git/commondir",
        # 2 through python3 -c (the production layout's one-liner)
        "python3 -c " + shlex.quote(commondir_py),
        "git status --short",
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_planted_git_programs_never_run_on_the_host(
    engine: str, github_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(github_emulator)
    main_before = world.git("rev-parse", "refs/heads/main").strip()
    number = world.open_issue("Add notes", "Add notes.txt saying hello.")
    monkeypatch.setenv("AUTOCODER_FAKE_HOST_SECRET", HOST_SECRET)
    marker = tmp_path / "marker"
    turns = [command_turn(engine, command) for command in chains(marker)]
    turns += [write_turn(engine, "notes.txt", "hello\n"), final_turn("Added notes.txt.")]
    with running_model_server(model_kind(engine), turns) as model:
        settings = configure(monkeypatch, world, engine, model.base_url, tmp_path)
        run = run_once(settings, number)
        to_model = "\n".join(json.dumps(r.body) for r in model.requests if r.body is not None)

    assert not marker.exists(), "a program planted by the model ran on the host"
    result = run.result
    assert result.conclusion is Conclusion.SUCCESS, run.lines
    ran = [c for c in result.commands if c.exit_code is not None]
    assert any("python3 -c" in c.command for c in ran), "the python3 -c chains ran"

    branch = result.branch
    assert branch is not None
    head = world.git("rev-parse", f"refs/heads/{branch}").strip()
    tree = world.git("ls-tree", "-r", "--full-tree", head)
    assert "notes.txt" in tree
    assert "160000" not in tree, "a gitlink was pushed"
    assert "\tsub/" not in tree and "\tpysub" not in tree
    assert world.git("rev-parse", "refs/heads/main").strip() == main_before

    runs = check_runs_for(world, head)
    assert runs and all(r["status"] == "completed" for r in runs)
    summary = "\n".join(str(r["output"]["summary"]) for r in runs)
    assert "Not committed" in summary and "`sub`" in summary and "`pysub`" in summary

    pushed = world.git("log", "-p", "--all")
    tokens = [
        r.response_body["token"]
        for r in github_emulator.requests()
        if r.path.endswith("/access_tokens") and isinstance(r.response_body, dict)
    ]
    for secret in [HOST_SECRET, *tokens, world.app.private_key.splitlines()[1]]:
        assert secret not in to_model, "the model saw a secret"
        assert secret not in pushed, "a secret was pushed"

"""`requirements.lock` is the one lock of every dependency: it satisfies `pyproject.toml` on every
supported Python, the environment the tests run in is exactly it, and the README's set-up and
`.ci/run` install it with the same command. (The Action and the image: tests/action and
tests/app.) A new upstream release changes none of this: only a refresh of the lock does."""

from __future__ import annotations

import re

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.lockfile import (
    LOCK,
    PYPROJECT,
    REFRESH,
    REFRESH_ARGS,
    ROOT,
    SETUP_INSTALL,
    Pin,
    environment,
    needed_distributions,
    project_requirements,
    read_lock,
    unsatisfied,
)

SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")


def _pins() -> list[Pin]:
    return read_lock(LOCK.read_text())


def _requirements() -> list[Requirement]:
    return project_requirements(PYPROJECT.read_text())


def test_every_requirement_of_pyproject_is_pinned_at_a_version_it_admits() -> None:
    problems = unsatisfied(_requirements(), _pins())
    assert not problems, f"requirements.lock does not satisfy pyproject.toml: {problems}; {REFRESH}"


def test_a_lock_that_does_not_satisfy_pyproject_is_caught() -> None:
    stale = read_lock("fastapi==0.100.0\nuvicorn==0.55.0 ; sys_platform == 'linux'\n")
    requirements = [Requirement("fastapi>=0.110"), Requirement("uvicorn>=0.29"), Requirement("x")]
    assert unsatisfied(requirements, stale) == [
        "fastapi>=0.110: pinned at 0.100.0",
        "x: not pinned",
    ]
    with pytest.raises(ValueError, match="not an exact pin"):
        read_lock("fastapi>=0.110\n")


@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
def test_the_lock_has_one_pin_for_each_requirement_on_every_supported_python(python: str) -> None:
    env = environment(python_version=python, python_full_version=f"{python}.0")
    pins = [pin for pin in _pins() if pin.applies(env)]
    names = [pin.name for pin in pins]
    assert len(names) == len(set(names)), "two pins of one distribution apply at once"
    for requirement in _requirements():
        assert canonicalize_name(requirement.name) in names, (python, str(requirement))


def test_every_installed_dependency_is_the_locked_version() -> None:
    """The tests run against exactly the lock: every distribution autocoder[dev] needs here is
    installed at the version the lock pins for this platform and Python."""
    env = environment()
    locked = {pin.name: pin.version for pin in _pins() if pin.applies(env)}
    installed = needed_distributions(_requirements())
    differences = {
        name: (version, locked.get(name))
        for name, version in installed.items()
        if version is None or locked.get(name) != version
    }
    assert not differences, (
        f"installed vs locked {differences}: install the lock ({SETUP_INSTALL}) "
        f"or, to move to newer releases, refresh it ({REFRESH} --upgrade) and run the tests"
    )
    # and nothing the lock pins for this platform is left out of what autocoder[dev] needs
    assert set(locked) == set(installed)


def test_the_lock_names_the_command_that_refreshes_it() -> None:
    """uv writes the command it was run with (without the path to uv) into the header."""
    assert LOCK.read_text().splitlines()[1].strip() == f"#    {REFRESH_ARGS}"


def test_readme_setup_and_ci_install_the_lock_with_the_same_command() -> None:
    readme = (ROOT / "README.md").read_text()
    setup = re.search(r"## Set up and run\n.*?```sh\n(.*?)```", readme, flags=re.S)
    assert setup is not None
    assert SETUP_INSTALL in setup.group(1)
    assert REFRESH in readme
    ci = (ROOT / ".ci" / "run").read_text()
    installs = [line for line in ci.splitlines() if "pip install" in line]
    assert installs and all(SETUP_INSTALL in line for line in installs), installs

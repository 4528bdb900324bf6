"""Reading `requirements.lock` and `pyproject.toml` for the tests that keep them, the installed
environment, the Action and the image in step.

The lock is `uv pip compile --universal` output: one `name==version` line per distribution, with
an environment marker where it applies to some platforms or Python versions only.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"

# What the README's set-up runs, what .ci/run runs, and what refreshes the lock.
SETUP_INSTALL = ".venv/bin/pip install -c requirements.lock -e '.[dev]'"
REFRESH_ARGS = (
    "uv pip compile pyproject.toml --extra dev --universal --python-version 3.11"
    " -o requirements.lock"
)
REFRESH = f".venv/bin/{REFRESH_ARGS}"


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    marker: Marker | None

    def applies(self, environment: Mapping[str, str]) -> bool:
        return self.marker is None or self.marker.evaluate(dict(environment))


def read_lock(text: str) -> list[Pin]:
    """Every `name==version [; marker]` line; comments and option lines are skipped."""
    pins = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")):
            continue
        requirement = Requirement(stripped)
        (specifier,) = requirement.specifier
        if specifier.operator != "==":
            raise ValueError(f"not an exact pin: {stripped!r}")
        pins.append(Pin(canonicalize_name(requirement.name), specifier.version, requirement.marker))
    return pins


def project_requirements(
    pyproject_text: str, extras: Iterable[str] = ("dev",)
) -> list[Requirement]:
    """`[project] dependencies` and the named optional-dependency groups."""
    project = tomllib.loads(pyproject_text)["project"]
    raw = list(project["dependencies"])
    for extra in extras:
        raw += project["optional-dependencies"][extra]
    return [Requirement(item) for item in raw]


def unsatisfied(requirements: Iterable[Requirement], pins: Iterable[Pin]) -> list[str]:
    """What is wrong between `pyproject.toml`'s requirements and the lock: a requirement with no
    pin, or a pin at a version the requirement does not admit."""
    pins = list(pins)
    problems = []
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        versions = [pin.version for pin in pins if pin.name == name]
        if not versions:
            problems.append(f"{requirement}: not pinned")
        problems += [
            f"{requirement}: pinned at {version}"
            for version in versions
            if not requirement.specifier.contains(version, prereleases=True)
        ]
    return problems


def environment(**overrides: str) -> dict[str, str]:
    """This interpreter's marker environment, with some values replaced."""
    return {**{str(k): str(v) for k, v in default_environment().items()}, **overrides}


def _applies(requirement: Requirement, extras: frozenset[str], env: Mapping[str, str]) -> bool:
    if requirement.marker is None:
        return True
    return any(
        requirement.marker.evaluate({**env, "extra": extra}) for extra in ("", *sorted(extras))
    )


def needed_distributions(roots: Iterable[Requirement]) -> dict[str, str | None]:
    """canonical name → installed version (None when missing) of every distribution `roots`
    need here, transitively, following extras and environment markers through the installed
    metadata."""
    env = environment()
    found: dict[str, str | None] = {}
    extras_seen: dict[str, frozenset[str]] = {}
    todo = [(root, frozenset[str]()) for root in roots]
    while todo:
        requirement, parent_extras = todo.pop()
        if not _applies(requirement, parent_extras, env):
            continue
        key = canonicalize_name(requirement.name)
        wanted = extras_seen.get(key, frozenset()) | frozenset(requirement.extras)
        if key in found and wanted == extras_seen.get(key):
            continue
        extras_seen[key] = wanted
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            found[key] = None
            continue
        found[key] = distribution.version
        todo += [(Requirement(raw), wanted) for raw in distribution.requires or []]
    return dict(sorted(found.items()))

"""Write the Action's pinned dependencies: every distribution the installed `autocoder` needs at
run time (its dependencies, transitively, for this platform), at the version installed here.

    .venv/bin/python -m action.make_lock > action/requirements.lock

`action.yml` installs autocoder with `pip install --constraint action/requirements.lock`, so an
Action run gets the versions the tests ran with.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement

HEADER = (
    "# Pinned run-time dependencies of autocoder for the GitHub Action (pip --constraint).\n"
    "# Regenerate from a tested environment:\n"
    "#   python -m action.make_lock > action/requirements.lock\n"
)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    environment = {str(key): str(value) for key, value in default_environment().items()}
    return any(
        requirement.marker.evaluate({**environment, "extra": extra})
        for extra in ("", *sorted(extras))
    )


def runtime_pins(root: str = "autocoder") -> dict[str, str]:
    """canonical name → installed version, for everything `root` needs (not `root` itself)."""
    pins: dict[str, str] = {}
    extras_seen: dict[str, frozenset[str]] = {}
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        for raw in metadata.distribution(name).requires or []:
            requirement = Requirement(raw)
            if not _applies(requirement, extras):
                continue
            key = canonical(requirement.name)
            wanted = extras_seen.get(key, frozenset()) | frozenset(requirement.extras)
            if key in pins and wanted == extras_seen.get(key):
                continue
            pins[key] = metadata.version(requirement.name)
            extras_seen[key] = wanted
            todo.append((requirement.name, wanted))
    return dict(sorted(pins.items()))


def render(pins: dict[str, str]) -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in pins.items())


def main() -> None:
    sys.stdout.write(render(runtime_pins()))


if __name__ == "__main__":
    main()

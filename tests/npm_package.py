"""Reading a pinned npm package (an `npm pack` tarball, or its unpacked directory) for the
scripts that vendor GitHub's OpenAPI description and webhook examples under tests/."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any


class ExtractError(Exception):
    """The package is not the one a script expects; the message says what to do."""


def read_pinned_package(package: Path, *, name: str, version: str, file: str) -> tuple[Any, Any]:
    """(package.json, the JSON file `file` inside the package).

    The manifest is checked against the pinned name and version before anything else is read.
    """
    try:
        if package.is_dir():
            root = package / "package" if (package / "package").is_dir() else package
            manifest = json.loads((root / "package.json").read_text(encoding="utf-8"))
            _check_manifest(manifest, name, version)
            return manifest, json.loads((root / file).read_text(encoding="utf-8"))
        with tarfile.open(package, "r:gz") as tar:
            manifest = json.loads(_tar_member(tar, "package/package.json"))
            _check_manifest(manifest, name, version)
            return manifest, json.loads(_tar_member(tar, f"package/{file}"))
    except (OSError, KeyError, tarfile.TarError) as exc:
        raise ExtractError(f"cannot read {package}: {exc}") from exc


def _tar_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        raise ExtractError(f"{name} is not a regular file in the tarball")
    return member.read()


def _check_manifest(manifest: Any, name: str, version: str) -> None:
    found = (manifest.get("name"), manifest.get("version"))
    if found != (name, version):
        raise ExtractError(
            f"expected {name}@{version}, got {found[0]}@{found[1]}; run "
            f"`npm pack {name}@{version}`, or bump PINNED_VERSION on purpose"
        )

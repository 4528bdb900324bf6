"""Vendor the Kubernetes definitions the kubernetes executor's tests check against.

Origin: the PyPI wheel `kubernetes-validate==1.37.0` (Apache-2.0, Copyright (C) 2018 Will
Thames, https://github.com/willthames/kubernetes-validate) carries the JSON schema that
`kubernetes-json-schema` generates from Kubernetes' own OpenAPI description, at
`kubernetes_validate/kubernetes-json-schema/v1.37.0-local-strict/_definitions.json` ("strict":
unknown properties are refused). This keeps only the definitions of the objects the executor
sends or the scripted API server answers with (`ROOTS`) and everything they reference, and
records where they came from in `definitions.json` itself.

    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv
    python -m tests.k8s_schema.extract /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

WHEEL = "kubernetes_validate-1.37.0-py3-none-any.whl"
MEMBER = "kubernetes_validate/kubernetes-json-schema/v1.37.0-local-strict/_definitions.json"
ROOTS = (
    "io.k8s.api.batch.v1.Job",
    "io.k8s.api.core.v1.Secret",
    "io.k8s.api.networking.v1.NetworkPolicy",
    "io.k8s.api.core.v1.Pod",
    "io.k8s.api.core.v1.PodList",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
)
HERE = Path(__file__).resolve().parent
PREFIX = "#/$defs/"


def references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX):
            found.add(ref[len(PREFIX) :])
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def closure(definitions: dict[str, Any], roots: tuple[str, ...]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept[name] = definitions[name]
        todo.extend(references(kept[name]) - kept.keys())
    return dict(sorted(kept.items()))


def main(wheel: str) -> None:
    raw = zipfile.ZipFile(wheel).read(MEMBER)
    schema = json.loads(raw)
    subset = {
        "$schema": schema["$schema"],
        "$id": schema["$id"],
        "x-origin": {
            "package": "kubernetes-validate==1.37.0 (PyPI)",
            "file": f"{WHEEL}:{MEMBER}",
            "sha256_of_file": hashlib.sha256(raw).hexdigest(),
            "licence": "Apache-2.0 (see LICENSE beside this file)",
            "kept": "the definitions in tests/k8s_schema/extract.py ROOTS and what they reference",
        },
        "$defs": closure(schema["$defs"], ROOTS),
    }
    (HERE / "definitions.json").write_text(json.dumps(subset, indent=1, sort_keys=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])

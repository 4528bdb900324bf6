"""Check Kubernetes objects against the vendored definitions (`definitions.json`, see
extract.py for its origin): JSON Schema 2020-12, strict (unknown properties are refused)."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema

DEFINITIONS = Path(__file__).resolve().parent / "definitions.json"
KINDS = {
    "Job": "io.k8s.api.batch.v1.Job",
    "Secret": "io.k8s.api.core.v1.Secret",
    "NetworkPolicy": "io.k8s.api.networking.v1.NetworkPolicy",
    "Pod": "io.k8s.api.core.v1.Pod",
    "PodList": "io.k8s.api.core.v1.PodList",
    "Status": "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "WatchEvent": "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "DeleteOptions": "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
}


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFINITIONS.read_text())
    return data


@cache
def _validator(kind: str) -> jsonschema.protocols.Validator:
    schema = {**_schema(), "$ref": f"#/$defs/{KINDS[kind]}"}
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def problems(kind: str, obj: Any) -> list[str]:
    """What is wrong with `obj` as a `kind` (empty: valid)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in _validator(kind).iter_errors(obj)
    ]


def check(kind: str, obj: Any) -> None:
    found = problems(kind, obj)
    if found:
        raise AssertionError(f"not a valid {kind}:\n" + "\n".join(found[:20]))

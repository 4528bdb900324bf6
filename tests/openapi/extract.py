"""Vendor the part of GitHub's REST OpenAPI description that autocoder uses.

GitHub publishes its REST API description at github/rest-api-description; the
``@octokit/openapi`` npm package republishes it (MIT) with small Octokit extensions. This
script reads that package and writes two self-contained files next to it:

- ``github-rest-subset.json``: the operations in :data:`OPERATIONS` (parameters, request
  body, every documented response) plus every component they reach through ``$ref``;
- ``github-webhooks-subset.json``: the webhook payload schemas in :data:`WEBHOOKS` (from the
  description's ``x-webhooks`` section) plus every component they reach.

``$ref``s are kept as they are (``#/components/...``) and the referenced components are copied
along, which keeps the files far smaller than the fully dereferenced variant.

Regenerate (needs npm; the tests themselves only read the vendored files)::

    cd "$(mktemp -d)" && npm pack @octokit/openapi@23.0.2
    cd /work/main && .venv/bin/python -m tests.openapi.extract \\
        --package "$OLDPWD/octokit-openapi-23.0.2.tgz"

``--package`` takes the tarball ``npm pack`` wrote or the ``package/`` directory unpacked
from it. Output is sorted and stably formatted, so rerunning gives byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.npm_package import ExtractError, read_pinned_package

PACKAGE_NAME = "@octokit/openapi"
PINNED_VERSION = "23.0.2"
DESCRIPTION_FILE = "generated/api.github.com.json"
UPSTREAM = "https://github.com/github/rest-api-description"

OUTPUT_DIR = Path(__file__).resolve().parent
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
REST_FILE = "github-rest-subset.json"
WEBHOOKS_FILE = "github-webhooks-subset.json"

# (method, path template as GitHub's description spells it)
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("GET", "/app"),
    ("POST", "/app/installations/{installation_id}/access_tokens"),
    ("GET", "/app/installations"),
    ("GET", "/app/installations/{installation_id}"),
    ("GET", "/repos/{owner}/{repo}/installation"),
    ("GET", "/installation/repositories"),
    ("GET", "/rate_limit"),
    ("GET", "/user"),
    ("GET", "/users/{username}"),
    ("GET", "/repos/{owner}/{repo}"),
    ("GET", "/repos/{owner}/{repo}/branches"),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}"),
    ("POST", "/repos/{owner}/{repo}/git/refs"),
    ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}"),
    ("GET", "/repos/{owner}/{repo}/issues"),
    ("POST", "/repos/{owner}/{repo}/issues"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("PUT", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/events"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/timeline"),
    ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues"),
    ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issue"),
    ("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues/priority"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by"),
    ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by/{issue_id}"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocking"),
    ("GET", "/repos/{owner}/{repo}/labels"),
    ("POST", "/repos/{owner}/{repo}/labels"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/reactions"),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("POST", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments"),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies"),
    ("POST", "/repos/{owner}/{repo}/check-runs"),
    ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
)

# (event as in the X-GitHub-Event header, action or None for events without actions)
WEBHOOKS: tuple[tuple[str, str | None], ...] = (
    ("issues", "opened"),
    ("issues", "edited"),
    ("issues", "closed"),
    ("issues", "reopened"),
    ("issues", "labeled"),
    ("issues", "unlabeled"),
    ("sub_issues", "sub_issue_added"),
    ("sub_issues", "sub_issue_removed"),
    ("sub_issues", "parent_issue_added"),
    ("sub_issues", "parent_issue_removed"),
    ("issue_dependencies", "blocked_by_added"),
    ("issue_dependencies", "blocked_by_removed"),
    ("issue_dependencies", "blocking_added"),
    ("issue_dependencies", "blocking_removed"),
    ("issue_comment", "created"),
    ("issue_comment", "edited"),
    ("pull_request", "opened"),
    ("pull_request", "synchronize"),
    ("pull_request", "closed"),
    ("pull_request_review", "submitted"),
    ("pull_request_review_comment", "created"),
    ("check_run", "created"),
    ("check_run", "completed"),
    ("check_run", "rerequested"),
    ("check_run", "requested_action"),
    ("installation", "created"),
    ("installation", "deleted"),
    ("installation_repositories", "added"),
    ("installation_repositories", "removed"),
    ("push", None),
)


def webhook_key(event: str, action: str | None) -> str:
    """The ``x-webhooks`` key GitHub's description uses, e.g. ``check-run-requested-action``."""
    parts = [event] if action is None else [event, action]
    return "-".join(parts).replace("_", "-")


def read_package(package: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(package.json, the description) from an ``npm pack`` tarball or its unpacked dir.

    The manifest is checked against the pinned name and version before anything else is read.
    """
    manifest, data = read_pinned_package(
        package, name=PACKAGE_NAME, version=PINNED_VERSION, file=DESCRIPTION_FILE
    )
    return manifest, data


def iter_refs(node: object) -> Iterator[str]:
    """Every ``$ref`` string anywhere below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_refs(value)


def _ref_location(ref: str) -> tuple[str, str]:
    """``#/components/<kind>/<name>`` -> (kind, name)."""
    parts = ref.split("/")
    if len(parts) != 4 or parts[:2] != ["#", "components"]:
        raise ExtractError(f"unexpected $ref {ref!r}: only #/components/<kind>/<name> is handled")
    name = parts[3].replace("~1", "/").replace("~0", "~")
    return parts[2], name


def component_closure(
    description: Mapping[str, Any], roots: Iterable[object]
) -> dict[str, dict[str, Any]]:
    """The components reachable by ``$ref`` from ``roots``, as a ``components`` object."""
    components: dict[str, dict[str, Any]] = {}
    pending = [ref for root in roots for ref in iter_refs(root)]
    while pending:
        kind, name = _ref_location(pending.pop())
        if name in components.get(kind, {}):
            continue
        try:
            value = description["components"][kind][name]
        except KeyError:
            raise ExtractError(f"dangling $ref #/components/{kind}/{name}") from None
        components.setdefault(kind, {})[name] = value
        pending.extend(iter_refs(value))
    return components


def select_operations(description: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for method, template in OPERATIONS:
        try:
            operation = description["paths"][template][method.lower()]
        except KeyError:
            raise ExtractError(f"{method} {template} is not in {DESCRIPTION_FILE}") from None
        entry = paths.setdefault(template, {})
        # Path-level keys (shared "parameters", "summary") apply to every operation.
        for key, value in description["paths"][template].items():
            if key not in HTTP_METHODS:
                entry[key] = value
        entry[method.lower()] = operation
    return paths


def other_operations(description: Mapping[str, Any]) -> dict[str, str]:
    """``"METHOD /template"`` -> operationId for every operation GitHub has but we don't vendor.

    Kept so the validator can tell "GitHub has this, it is not vendored" from "no such
    operation", and so a slash-taking ``{ref}`` does not swallow a sub-resource GitHub has
    (``/commits/{ref}/status`` is not ``/commits/{ref}``).
    """
    vendored = set(OPERATIONS)
    others = {}
    for template, item in description["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS and (method.upper(), template) not in vendored:
                others[f"{method.upper()} {template}"] = operation["operationId"]
    return others


def integer_path_parameters(description: Mapping[str, Any]) -> list[str]:
    """Names of path parameters that are integers wherever the description uses them."""
    types: dict[str, set[object]] = {}
    for item in description["paths"].values():
        operations = [op for method, op in item.items() if method in HTTP_METHODS]
        for parameter in [*item.get("parameters", [])] + [
            p for op in operations for p in op.get("parameters", [])
        ]:
            if "$ref" in parameter:
                kind, name = _ref_location(parameter["$ref"])
                parameter = description["components"][kind][name]
            if parameter.get("in") == "path":
                types.setdefault(parameter["name"], set()).add(parameter["schema"].get("type"))
    return sorted(name for name, kinds in types.items() if kinds == {"integer"})


def select_webhooks(description: Mapping[str, Any]) -> dict[str, Any]:
    webhooks = description.get("webhooks") or description.get("x-webhooks") or {}
    selected: dict[str, Any] = {}
    for event, action in WEBHOOKS:
        key = webhook_key(event, action)
        if key not in webhooks:
            raise ExtractError(f"webhook {key} is not in {DESCRIPTION_FILE}")
        selected[key] = webhooks[key]
    return selected


def _info(description: Mapping[str, Any], content: str) -> dict[str, Any]:
    info = dict(description["info"])
    info["x-vendored-from"] = {
        "package": PACKAGE_NAME,
        "version": PINNED_VERSION,
        "file": DESCRIPTION_FILE,
        "license": "MIT",
        "license_file": "tests/openapi/LICENSE",
        "upstream": UPSTREAM,
        "content": content,
        "regenerate": f"npm pack {PACKAGE_NAME}@{PINNED_VERSION} && "
        "python -m tests.openapi.extract --package octokit-openapi-"
        f"{PINNED_VERSION}.tgz",
    }
    return info


def build_rest_subset(description: Mapping[str, Any]) -> dict[str, Any]:
    paths = select_operations(description)
    return {
        "openapi": description["openapi"],
        "info": _info(description, "REST operations autocoder uses (tests/openapi/extract.py)"),
        "paths": paths,
        "components": component_closure(description, [paths]),
        "x-unvendored-operations": other_operations(description),
        "x-integer-path-parameters": integer_path_parameters(description),
    }


def build_webhooks_subset(description: Mapping[str, Any]) -> dict[str, Any]:
    webhooks = select_webhooks(description)
    key = "webhooks" if "webhooks" in description else "x-webhooks"
    return {
        "openapi": description["openapi"],
        "info": _info(description, "webhook payloads autocoder handles (tests/openapi/extract.py)"),
        key: webhooks,
        "components": component_closure(description, [webhooks]),
    }


def dump(document: object) -> str:
    """Stable text: sorted keys, one-space indent, UTF-8 kept, trailing newline."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_subsets(package: Path, output_dir: Path = OUTPUT_DIR) -> list[Path]:
    _, description = read_package(package)
    written = []
    for name, document in (
        (REST_FILE, build_rest_subset(description)),
        (WEBHOOKS_FILE, build_webhooks_subset(description)),
    ):
        target = output_dir / name
        target.write_text(dump(document), encoding="utf-8", newline="\n")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--package",
        "--package-dir",
        dest="package",
        type=Path,
        required=True,
        help=f"the npm pack tarball of {PACKAGE_NAME}@{PINNED_VERSION}, or its unpacked directory",
    )
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR)
    args = parser.parse_args(argv)
    try:
        written = write_subsets(args.package, args.output_dir)
    except ExtractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

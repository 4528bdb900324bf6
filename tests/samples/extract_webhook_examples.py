"""Vendor real webhook payloads from ``@octokit/webhooks-examples`` into tests/samples/webhooks/.

The package (MIT, from github.com/octokit/webhooks) collects example payloads GitHub sent.
This script copies the api.github.com examples for the events in :data:`EVENTS`, one file
per payload, named ``<event>.<action>[.<n>].json`` (``<event>[.<n>].json`` for events
without actions such as ``push``); ``<n>`` counts from 1 when an action has more than one
example, in the package's order. Payloads are copied unchanged; only the JSON formatting
is ours (sorted keys, two-space indent), so reruns give byte-identical files. Files for
payloads the package no longer has are removed.

Regenerate (needs npm; the tests themselves only read the vendored files)::

    cd "$(mktemp -d)" && npm pack @octokit/webhooks-examples@7.6.1
    cd /work/main && .venv/bin/python -m tests.samples.extract_webhook_examples \\
        --package "$OLDPWD/octokit-webhooks-examples-7.6.1.tgz"

``--package`` takes the tarball ``npm pack`` wrote or the ``package/`` directory unpacked
from it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.npm_package import ExtractError, read_pinned_package

PACKAGE_NAME = "@octokit/webhooks-examples"
PINNED_VERSION = "7.6.1"
EXAMPLES_FILE = "api.github.com/index.json"

OUTPUT_DIR = Path(__file__).resolve().parent / "webhooks"

EVENTS: tuple[str, ...] = (
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "check_run",
    "installation",
    "installation_repositories",
    "push",
)


def read_package(package: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(package.json, the webhook definitions) from an ``npm pack`` tarball or its unpacked dir.

    The manifest is checked against the pinned name and version before anything else is read.
    """
    manifest, data = read_pinned_package(
        package, name=PACKAGE_NAME, version=PINNED_VERSION, file=EXAMPLES_FILE
    )
    return manifest, data


def sample_files(definitions: Sequence[Mapping[str, Any]]) -> dict[str, object]:
    """File name -> payload for every example of the events in :data:`EVENTS`."""
    by_event = {definition["name"]: definition for definition in definitions}
    missing = [event for event in EVENTS if event not in by_event]
    if missing:
        raise ExtractError(f"{PACKAGE_NAME}@{PINNED_VERSION} has no examples for {missing}")
    files: dict[str, object] = {}
    for event in EVENTS:
        groups: defaultdict[str, list[object]] = defaultdict(list)
        for payload in by_event[event]["examples"]:
            action = payload.get("action") if isinstance(payload, dict) else None
            stem = f"{event}.{action}" if isinstance(action, str) else event
            groups[stem].append(payload)
        for stem, payloads in groups.items():
            if len(payloads) == 1:
                files[f"{stem}.json"] = payloads[0]
            else:
                for number, payload in enumerate(payloads, start=1):
                    files[f"{stem}.{number}.json"] = payload
    return files


def dump(payload: object) -> str:
    return json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_samples(package: Path, output_dir: Path = OUTPUT_DIR) -> list[Path]:
    _, definitions = read_package(package)
    files = sample_files(definitions)
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(output_dir.glob("*.json")):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, payload in sorted(files.items()):
        target = output_dir / name
        target.write_text(dump(payload), encoding="utf-8", newline="\n")
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
        written = write_samples(args.package, args.output_dir)
    except ExtractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} payloads to {args.output_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

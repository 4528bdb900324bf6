"""Check requests, responses and webhook payloads against GitHub's own OpenAPI description.

The vendored files (see extract.py) are an OpenAPI 3.0.3 subset of GitHub's REST
description. This module turns their schemas into JSON Schema Draft 2020-12 once, at load:

- ``nullable: true`` becomes a type union (``type: [T, "null"]``, ``null`` added to an
  ``enum``), or ``anyOf: [<schema>, {type: null}]`` where the schema has no ``type`` (GitHub
  writes ``nullable`` next to ``allOf``/``anyOf``/``oneOf`` and means "or null");
- nothing else is changed: ``required`` and ``additionalProperties`` are validated exactly as
  GitHub writes them.

``format`` is checked for ``date-time``, ``date``, ``email`` and ``uri`` by the small checkers
below (stdlib only, so no extra packages); GitHub's vendored examples pass them. Other formats
GitHub uses (``uri-template``, ``int64``, ``timestamp``, ``repo.nwo``) stay annotations:
jsonschema has no checker for the last three and ``uri-template`` would need another package.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import referencing
import referencing.jsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

VENDORED_DIR = Path(__file__).resolve().parent
REST_FILE = "github-rest-subset.json"
WEBHOOKS_FILE = "github-webhooks-subset.json"
REST_URI = "urn:autocoder:github-rest-subset"
WEBHOOKS_URI = "urn:autocoder:github-webhooks-subset"

# Path parameters GitHub lets carry slashes ("heads/feature/x", a branch named "feature/x",
# a file path in /contents/{path}).
SLASHED_PARAMETERS = frozenset({"ref", "branch", "path"})
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
GHES_PREFIX = "/api/v3/"
NO_BODY_STATUSES = frozenset({204, 304})
MAX_PROBLEMS_PER_BODY = 20
MAX_MESSAGE = 300

# Keywords whose value is a schema, a list of schemas, or a map of name -> schema.
_SCHEMA_KEYWORDS = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "dependentSchemas")


# --- OpenAPI 3.0 -> JSON Schema 2020-12 -------------------------------------------------


def translate_schema(schema: object) -> object:
    """A Draft 2020-12 copy of an OpenAPI 3.0 schema object (see the module docstring)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_KEYWORDS:
            out[key] = translate_schema(value)
        elif key in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
            out[key] = [translate_schema(item) for item in value]
        elif key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            out[key] = {name: translate_schema(item) for name, item in value.items()}
        else:
            out[key] = value
    nullable = out.pop("nullable", False)
    if nullable is not True:
        return out
    if "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        if "null" not in types:
            out["type"] = [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    if any(key in out for key in ("$ref", "allOf", "anyOf", "oneOf", "enum", "const", "not")):
        return {"anyOf": [out, {"type": "null"}]}
    return out  # no constraint on the type at all: null is already allowed


def translate_document(node: object) -> object:
    """Translate every schema in an OpenAPI document; leave examples untouched."""
    if isinstance(node, list):
        return [translate_document(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("example", "examples"):
            out[key] = value
        elif key == "schema":
            out[key] = translate_schema(value)
        elif key == "schemas" and isinstance(value, dict):
            out[key] = {name: translate_schema(schema) for name, schema in value.items()}
        else:
            out[key] = translate_document(value)
    return out


# --- formats -----------------------------------------------------------------------------


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    # RFC 3339 needs a date, a "T", a time and an offset; fromisoformat alone is laxer.
    if not re.fullmatch(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", value):
        return False
    dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # ValueError: bad date
    return True


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    dt.date.fromisoformat(value)  # ValueError: bad date
    return bool(re.fullmatch(r"\d{4}-\d\d-\d\d", value))


def _is_email(value: object) -> bool:
    return not isinstance(value, str) or "@" in value


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    scheme = urlsplit(value).scheme  # ValueError: e.g. a broken IPv6 host
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme)) and " " not in value


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(_is_date_time)
    checker.checks("date", raises=ValueError)(_is_date)
    checker.checks("email")(_is_email)
    checker.checks("uri", raises=ValueError)(_is_uri)
    return checker


# --- corrections ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """One deliberate, explained change to GitHub's description, applied at load."""

    pointer: str  # JSON pointer into the REST document
    old_key: str
    new_key: str
    reason: str


# Each entry fixes a slip in the description that no real GitHub response could satisfy.
# A correction whose ``old_key`` is no longer there is skipped (and a test then fails, so it
# gets deleted after the description is fixed upstream).
CORRECTIONS: tuple[Correction, ...] = (
    Correction(
        pointer="/paths/~1app~1installations/get/responses/200/content/application~1json"
        "/schema/items/properties/account",
        old_key="allOf",
        new_key="anyOf",
        reason="GET /app/installations inlines the Installation schema with "
        "account: allOf[Simple User, Enterprise], which demands every field of both; "
        "components/schemas/installation, the same object as returned by GET "
        "/app/installations/{installation_id}, says anyOf, and GitHub's own example for this "
        "operation (a user account) fails the allOf.",
    ),
)


def apply_corrections(
    document: Mapping[str, Any], corrections: tuple[Correction, ...] = CORRECTIONS
) -> tuple[dict[str, Any], list[Correction]]:
    """(a corrected copy of ``document``, the corrections that applied); input untouched."""
    root: dict[str, Any] = dict(document)
    applied = []
    for correction in corrections:
        node = root
        tokens = [
            t.replace("~1", "/").replace("~0", "~") for t in correction.pointer.split("/")[1:]
        ]
        for token in tokens:  # copy along the path so the caller's document is not changed
            child = node.get(token)
            if not isinstance(child, dict):
                break
            node[token] = dict(child)
            node = node[token]
        else:
            if correction.old_key in node and correction.new_key not in node:
                node[correction.new_key] = node.pop(correction.old_key)
                applied.append(correction)
    return root, applied


# --- the validator -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    regex: str
    operation_id: str
    pointer: str | None  # JSON pointer of the operation in the REST document; None: unvendored
    literal_segments: int
    slashed_parameters: int

    @property
    def segments(self) -> int:
        return self.template.count("/")

    @cached_property
    def pattern(self) -> re.Pattern[str]:  # compiled on first use: ~1200 routes, few are hit
        return re.compile(self.regex)

    def matches(self, path: str, segments: int) -> bool:
        fits = segments >= self.segments if self.slashed_parameters else segments == self.segments
        return fits and self.pattern.fullmatch(path) is not None


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _describe_path(path: Iterable[object]) -> str:
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _is_not_null_error(error: ValidationError) -> bool:
    """The ``{type: null}`` branch of a nullable schema failing: never the interesting one."""
    return bool(error.validator == "type" and error.validator_value in ("null", ["null"]))


def _closest(error: ValidationError) -> ValidationError:
    """The most telling leaf error under an anyOf/oneOf error."""
    while error.context:
        candidates = [e for e in error.context if not _is_not_null_error(e)] or error.context
        error = best_match(candidates)
    return error


def _messages(validator: Draft202012Validator, instance: object, where: str) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    problems = []
    for error in errors[:MAX_PROBLEMS_PER_BODY]:
        message = _shorten(error.message)
        if error.context:  # anyOf/oneOf: say which alternative came closest and why
            closest = _closest(error)
            message = "matches none of its alternatives; closest: at "
            message += f"{_describe_path(closest.absolute_path)}: {_shorten(closest.message)}"
        problems.append(f"{where}: at {_describe_path(error.absolute_path)}: {message}")
    if len(errors) > MAX_PROBLEMS_PER_BODY:
        problems.append(f"{where}: ... and {len(errors) - MAX_PROBLEMS_PER_BODY} more problems")
    return problems


class OpenAPIValidator:
    """GitHub's REST and webhook schemas for the operations autocoder uses.

    ``load()`` once (it is cached); ``match``/``check``/``check_webhook`` return plain data.
    """

    def __init__(self, rest: Mapping[str, Any], webhooks: Mapping[str, Any]) -> None:
        corrected, self.corrections_applied = apply_corrections(rest)
        self._rest: dict[str, Any] = translate_document(corrected)  # type: ignore[assignment]
        self._webhooks: dict[str, Any] = translate_document(webhooks)  # type: ignore[assignment]
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resources(
            [
                (REST_URI, referencing.jsonschema.DRAFT202012.create_resource(self._rest)),
                (WEBHOOKS_URI, referencing.jsonschema.DRAFT202012.create_resource(self._webhooks)),
            ]
        )
        self._format_checker = _format_checker()
        self._validators: dict[str, Draft202012Validator] = {}
        self._routes = self._build_routes()

    @classmethod
    def load(cls) -> OpenAPIValidator:
        """The validator for the files vendored in tests/openapi/ (parsed once per process)."""
        return _load(VENDORED_DIR)

    @classmethod
    def from_directory(cls, directory: Path) -> OpenAPIValidator:
        rest = json.loads((directory / REST_FILE).read_text(encoding="utf-8"))
        webhooks = json.loads((directory / WEBHOOKS_FILE).read_text(encoding="utf-8"))
        return cls(rest, webhooks)

    # --- routing ---------------------------------------------------------------------

    def _build_routes(self) -> dict[tuple[str, str], list[_Route]]:
        routes = []
        for template, item in self._rest.get("paths", {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                types = {}
                for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
                    parameter = self._resolve(self._rest, parameter)
                    if parameter.get("in") == "path":
                        types[parameter["name"]] = parameter.get("schema", {}).get("type")
                pointer = f"/paths/{_escape_pointer(template)}/{method}"
                routes.append(
                    self._make_route(method, template, operation["operationId"], types, pointer)
                )
        # Operations GitHub has that are not vendored: routed too, so that "/commits/{ref}"
        # does not swallow "/commits/abc/status", and so check() can say what is missing.
        integers = dict.fromkeys(self._rest.get("x-integer-path-parameters", []), "integer")
        for key, operation_id in self._rest.get("x-unvendored-operations", {}).items():
            method, template = key.split(" ", 1)
            routes.append(self._make_route(method, template, operation_id, integers, None))
        # Most specific first: more literal segments, then fewer slash-swallowing parameters.
        routes.sort(key=lambda r: (-r.literal_segments, r.slashed_parameters, r.template))
        by_start: dict[tuple[str, str], list[_Route]] = {}
        for route in routes:  # every GitHub template starts with a literal segment
            by_start.setdefault((route.method, route.template.split("/", 2)[1]), []).append(route)
        return by_start

    @staticmethod
    def _make_route(
        method: str,
        template: str,
        operation_id: str,
        types: Mapping[str, object],
        pointer: str | None,
    ) -> _Route:
        slashed = 0
        regex = ""
        for piece in re.split(r"(\{[^}]+\})", template):
            if not (piece.startswith("{") and piece.endswith("}")):
                regex += re.escape(piece)
                continue
            name = piece[1:-1]
            if name in SLASHED_PARAMETERS:
                slashed += 1
                regex += "(.+)"
            elif types.get(name) == "integer":
                regex += "([0-9]+)"
            else:
                regex += "([^/]+)"
        return _Route(
            method=method.upper(),
            template=template,
            regex=regex,
            operation_id=operation_id,
            pointer=pointer,
            literal_segments=sum(1 for seg in template.split("/") if seg and "{" not in seg),
            slashed_parameters=slashed,
        )

    def _route(self, method: str, path: str) -> _Route | None:
        path = path.split("?", 1)[0]
        if path.startswith(GHES_PREFIX):  # GitHub Enterprise Server serves the API there
            path = path[len(GHES_PREFIX) - 1 :]
        if len(path) > 1:
            path = path.rstrip("/")
        first_segment = path.split("/", 2)[1] if path.startswith("/") else ""
        segments = path.count("/")
        for route in self._routes.get((method.upper(), first_segment), ()):
            if route.matches(path, segments):
                return route
        return None

    def match(self, method: str, path: str) -> str | None:
        """The operationId for a concrete path like ``/repos/o/r/issues/12``, or None.

        None also for an operation GitHub has but the subset does not vendor.
        """
        route = self._route(method, path)
        return route.operation_id if route and route.pointer else None

    # --- checking --------------------------------------------------------------------

    @staticmethod
    def _resolve(document: Mapping[str, Any], node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = OpenAPIValidator._at(document, node["$ref"].removeprefix("#"))
        return node

    @staticmethod
    def _at(document: Mapping[str, Any], pointer: str) -> Any:
        node: Any = document
        for token in pointer.split("/")[1:]:
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def _resolve_pointer(self, document: Mapping[str, Any], pointer: str) -> tuple[str, Any]:
        """(pointer after following $refs, node) for the node at ``pointer``."""
        node = self._at(document, pointer)
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self._at(document, pointer)
        return pointer, node

    def _validator(self, uri: str, pointer: str) -> Draft202012Validator:
        key = f"{uri}#{pointer}"
        validator = self._validators.get(key)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": key}, registry=self._registry, format_checker=self._format_checker
            )
            self._validators[key] = validator
        return validator

    @staticmethod
    def _json_media_type(content: Mapping[str, Any]) -> str | None:
        if "application/json" in content:
            return "application/json"
        return next((name for name in sorted(content) if "json" in name), None)

    def check(
        self,
        method: str,
        path: str,
        status: int,
        request_body: object | None,
        response_body: object | None,
    ) -> list[str]:
        """Human-readable problems with one exchange; [] when GitHub's description agrees.

        ``path`` is the request path (a query string is ignored; a leading ``/api/v3`` as on
        GitHub Enterprise Server is dropped). Bodies are parsed JSON; pass None for "no body".
        Problems: an operation GitHub does not have or that is not vendored (the message names
        GitHub's operation and says how to add it), a status it does not document, a
        missing required request body, a body where none is documented (204/304 never have
        one), and every schema violation in either body.
        """
        route = self._route(method, path)
        if route is None:
            return [f"{method.upper()} {path}: GitHub's REST description has no such operation"]
        if route.pointer is None:
            return [
                f"{method.upper()} {path}: GitHub's {route.operation_id} ({route.method} "
                f"{route.template}) is not vendored; add it to OPERATIONS in "
                "tests/openapi/extract.py and regenerate"
            ]
        operation = self._at(self._rest, route.pointer)
        name = f"{route.operation_id} ({route.method} {route.template})"
        return [
            *self._check_request(route.pointer, operation, name, request_body),
            *self._check_response(route.pointer, operation, name, status, response_body),
        ]

    def _check_request(
        self, operation_pointer: str, operation: Mapping[str, Any], name: str, body: object | None
    ) -> list[str]:
        if "requestBody" not in operation:
            if body is None:
                return []
            return [f"{name}: request has a body but the operation documents none"]
        pointer, request = self._resolve_pointer(self._rest, operation_pointer + "/requestBody")
        if body is None:
            return [f"{name}: request body is required"] if request.get("required") else []
        content = request.get("content", {})
        media = self._json_media_type(content)
        if media is None or "schema" not in content[media]:
            return []  # no JSON schema documented for the body: nothing to check against
        schema_pointer = f"{pointer}/content/{_escape_pointer(media)}/schema"
        return _messages(self._validator(REST_URI, schema_pointer), body, f"{name} request body")

    def _check_response(
        self,
        operation_pointer: str,
        operation: Mapping[str, Any],
        name: str,
        status: int,
        body: object | None,
    ) -> list[str]:
        responses = operation.get("responses", {})
        key = next(
            (k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None
        )
        if key is None:
            documented = ", ".join(sorted(responses))
            return [f"{name}: status {status} is not documented (documented: {documented})"]
        pointer, response = self._resolve_pointer(
            self._rest, f"{operation_pointer}/responses/{_escape_pointer(key)}"
        )
        content = response.get("content") or {}
        where = f"{name} {status} response"
        if status in NO_BODY_STATUSES or not content:
            return [] if body is None else [f"{where}: has a body but none is documented"]
        media = self._json_media_type(content)
        if media is None or "schema" not in content[media]:
            return []  # a non-JSON or schemaless body: nothing to check against
        if body is None:
            return [f"{where}: has no body but the description documents one ({media})"]
        schema_pointer = f"{pointer}/content/{_escape_pointer(media)}/schema"
        return _messages(self._validator(REST_URI, schema_pointer), body, where)

    def _webhooks_section(self) -> Mapping[str, Any]:
        section: Mapping[str, Any] = (
            self._webhooks.get("webhooks") or self._webhooks.get("x-webhooks") or {}
        )
        return section

    @property
    def webhook_keys(self) -> frozenset[str]:
        """The vendored webhook schemas, named like ``issues-opened`` or ``push``."""
        return frozenset(self._webhooks_section())

    def webhook_key(self, event: str, payload: object) -> str:
        """The description's name for this payload's schema, e.g. ``issue-comment-created``."""
        base = event.replace("_", "-")
        action = payload.get("action") if isinstance(payload, dict) else None
        if not isinstance(action, str):
            return base
        keyed = f"{base}-{action.replace('_', '-')}"
        # "push" has no actions; other events are always named <event>-<action>.
        return (
            base
            if base in self._webhooks_section() and keyed not in self._webhooks_section()
            else keyed
        )

    def check_webhook(self, event: str, payload: object) -> list[str]:
        """Problems with a webhook payload, against GitHub's ``<event>-<action>`` schema.

        An event/action whose schema is not vendored is reported as a problem, so an
        emulator cannot send something nobody checked; extend extract.WEBHOOKS to add one.
        """
        key = self.webhook_key(event, payload)
        section = self._webhooks_section()
        if key not in section:
            return [f"webhook {event} ({key}): no vendored schema in {WEBHOOKS_FILE}"]
        section_name = "webhooks" if "webhooks" in self._webhooks else "x-webhooks"
        base = f"/{section_name}/{_escape_pointer(key)}/post/requestBody"
        pointer, request = self._resolve_pointer(self._webhooks, base)
        media = self._json_media_type(request.get("content", {}))
        if media is None:
            return [f"webhook {key}: the description gives no JSON schema"]
        schema_pointer = f"{pointer}/content/{_escape_pointer(media)}/schema"
        return _messages(self._validator(WEBHOOKS_URI, schema_pointer), payload, f"webhook {key}")


@lru_cache(maxsize=4)
def _load(directory: Path) -> OpenAPIValidator:
    return OpenAPIValidator.from_directory(directory)

"""Plug-ins without editing the package: a dotted path (`module:attr`) or a named entry point.

Entry point groups:

- `autocoder.auth_providers` — an `AuthenticationProvider` subclass (or a factory of one);
- `autocoder.providers` — a `ChatProvider` factory, `(ProviderSettings) -> ChatProvider`, chosen
  with `--engine NAME`;
- `autocoder.tools` — a `ToolSpec`, or a callable `(Toolbox) -> ToolSpec | Iterable[ToolSpec]`;
  every installed one is offered to the model.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from runner.chat.errors import ChatError
from runner.tools import Toolbox, ToolSpec

log = logging.getLogger(__name__)

AUTH_PROVIDERS_GROUP = "autocoder.auth_providers"
PROVIDERS_GROUP = "autocoder.providers"
TOOLS_GROUP = "autocoder.tools"


def load_object(spec: str, *, what: str) -> object:
    """Import `module:attr` (or `module.attr`); a `ChatError` says what went wrong."""
    module_name, sep, attr = spec.partition(":")
    if not sep:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise ChatError(f"{what} {spec!r} is not a dotted path like 'my_package.auth:MyProvider'")
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise ChatError(f"{what} {spec!r}: cannot import {module_name}: {exc}") from exc
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ChatError(f"{what} {spec!r}: {module_name} has no {attr}") from None
    return target


def entry_points_of(group: str) -> list[EntryPoint]:
    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def load_entry_point(group: str, name: str, *, what: str) -> object | None:
    """The object behind entry point `name` in `group`, or None when there is no such one."""
    for point in entry_points_of(group):
        if point.name == name:
            try:
                loaded: object = point.load()
            except Exception as exc:  # a broken plug-in: say which one
                raise ChatError(f"{what} {name!r} (entry point {point.value}): {exc}") from exc
            return loaded
    return None


def resolve_plugin(spec: str, group: str, *, what: str) -> object:
    """`spec` as an entry point name in `group`, else as a dotted path."""
    if ":" not in spec and "." not in spec:
        found = load_entry_point(group, spec, what=what)
        if found is None:
            names = ", ".join(ep.name for ep in entry_points_of(group)) or "none installed"
            raise ChatError(
                f"no {what} named {spec!r} (entry point group {group}: {names}); "
                "give a dotted path like 'my_package.module:Name'"
            )
        return found
    return load_object(spec, what=what)


def plugin_tools(toolbox: Toolbox) -> list[ToolSpec]:
    """Every tool installed through the `autocoder.tools` entry point group."""
    tools: list[ToolSpec] = []
    for point in entry_points_of(TOOLS_GROUP):
        try:
            loaded = point.load()
            tools.extend(tools_from(loaded, toolbox))
        except Exception as exc:
            raise ChatError(f"custom tool {point.name!r} ({point.value}): {exc}") from exc
    return tools


def tools_from(loaded: object, toolbox: Toolbox) -> list[ToolSpec]:
    """A `ToolSpec`, or what a factory called with the toolbox returns, as a list."""
    if isinstance(loaded, ToolSpec):
        return [loaded]
    if not callable(loaded):
        raise ChatError(f"{loaded!r} is neither a ToolSpec nor a callable returning ToolSpecs")
    made = loaded(toolbox)
    if isinstance(made, ToolSpec):
        return [made]
    if isinstance(made, Iterable):
        specs = list(made)
        if all(isinstance(spec, ToolSpec) for spec in specs):
            return specs
    raise ChatError(f"{loaded!r} returned {made!r}, not a ToolSpec or a list of them")

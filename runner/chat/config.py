"""Where `autocoder chat` finds its model: config files, then the environment, then flags.

Layers, each overriding the one before, key by key (`auth_headers` and `extra_params` are merged
key by key too):

1. defaults: Ollama at http://localhost:11434/v1 with llama3.2;
2. `~/.auto-coder.yaml`, `~/.autocoder.yaml`, then `.auto-coder.yaml`, `.autocoder.yaml` in the
   working directory (the older Auto-Coder names first) — or only the file given with --config;
3. the environment: AUTOCODER_BASE_URL, AUTOCODER_MODEL, AUTOCODER_API_KEY (AUTO_CODER_* too),
   AUTOCODER_TIMEOUT, AUTOCODER_CA_BUNDLE, AUTOCODER_AUTH_PROVIDER, USE_SSO,
   SERVER_SIDE_TOKEN_REFRESH; OPENAI_API_KEY only when no API key is set anywhere else;
4. flags: --base-url, --model, --api-key.

Every value remembers where it came from, so a message can say "tried X (from Y)". A malformed
file is a `ConfigError` naming the file and the line.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runner.chat.errors import ConfigError

DEFAULT_BASE_URL = "http://localhost:11434/v1"  # Ollama's OpenAI-compatible endpoint
DEFAULT_MODEL = "llama3.2"
DEFAULT_TIMEOUT_S = 120.0

CONFIG_NAMES = (".auto-coder.yaml", ".autocoder.yaml")  # older name first: the newer one wins
SECTION = "llm"
log = logging.getLogger(__name__)

_STRING_KEYS = frozenset({"base_url", "model", "api_key", "ca_bundle", "auth_provider"})
_BOOL_KEYS = frozenset({"use_sso", "server_side_token_refresh"})
_MAPPING_KEYS = frozenset({"auth_headers", "extra_params"})
KEYS = frozenset({*_STRING_KEYS, *_BOOL_KEYS, *_MAPPING_KEYS, "timeout"})

ENV_NAMES: Mapping[str, tuple[str, ...]] = {
    "base_url": ("AUTOCODER_BASE_URL", "AUTO_CODER_BASE_URL"),
    "model": ("AUTOCODER_MODEL", "AUTO_CODER_MODEL"),
    "api_key": ("AUTOCODER_API_KEY", "AUTO_CODER_API_KEY"),
    "timeout": ("AUTOCODER_TIMEOUT", "AUTO_CODER_TIMEOUT"),
    "ca_bundle": ("AUTOCODER_CA_BUNDLE", "AUTO_CODER_CA_BUNDLE"),
    "auth_provider": ("AUTOCODER_AUTH_PROVIDER", "AUTO_CODER_AUTH_PROVIDER"),
    "use_sso": ("USE_SSO", "AUTOCODER_USE_SSO"),
    "server_side_token_refresh": (
        "SERVER_SIDE_TOKEN_REFRESH",
        "AUTOCODER_SERVER_SIDE_TOKEN_REFRESH",
    ),
}
FALLBACK_API_KEY_ENV = "OPENAI_API_KEY"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class LLMConfig:
    """Everything needed to reach the model; `sources` says where each value came from."""

    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    api_key: str | None = field(default=None, repr=False)
    auth_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    extra_params: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT_S
    ca_bundle: str | None = None
    auth_provider: str | None = None
    use_sso: bool = False
    server_side_token_refresh: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)
    files: tuple[Path, ...] = ()  # the config files that were read, in order

    def source_of(self, key: str) -> str:
        return self.sources.get(key, "the default")


def default_config_files(home: Path, working_dir: Path) -> list[Path]:
    """The files looked at when no --config is given, lowest precedence first."""
    return [home / name for name in CONFIG_NAMES] + [working_dir / name for name in CONFIG_NAMES]


def load_config(
    *,
    home: Path,
    working_dir: Path,
    environ: Mapping[str, str],
    config_file: Path | None = None,
    flags: Mapping[str, Any] | None = None,
) -> LLMConfig:
    """Merge defaults, files, environment and flags (see the module docstring)."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    files: list[Path] = []
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} does not exist (given with --config)")
        candidates = [config_file]
    else:
        candidates = [path for path in default_config_files(home, working_dir) if path.is_file()]
    seen: set[Path] = set()
    for path in candidates:
        resolved = path.resolve()
        if resolved in seen:  # the working directory is the home directory
            continue
        seen.add(resolved)
        files.append(path)
        for key, (value, line) in read_config_file(path).items():
            _merge(values, key, value)
            sources[key] = f"{path} line {line}"
    for key, (value, name) in read_environment(environ).items():
        _merge(values, key, value)
        sources[key] = name
    for key, value in (flags or {}).items():
        if value is None:
            continue
        if key not in KEYS:
            raise ValueError(f"unknown setting {key!r}")
        values[key] = value.rstrip("/") if key == "base_url" and isinstance(value, str) else value
        sources[key] = f"--{key.replace('_', '-')}"
    if not values.get("api_key") and environ.get(FALLBACK_API_KEY_ENV):
        values["api_key"] = environ[FALLBACK_API_KEY_ENV]
        sources["api_key"] = FALLBACK_API_KEY_ENV
    return LLMConfig(**values, sources=sources, files=tuple(files))


def _merge(values: dict[str, Any], key: str, value: Any) -> None:
    if key in _MAPPING_KEYS and isinstance(values.get(key), Mapping):
        values[key] = {**values[key], **value}
    else:
        values[key] = value


# -- files ---------------------------------------------------------------------------------------


def read_config_file(path: Path) -> dict[str, tuple[Any, int]]:
    """The `llm:` settings of one file, each with its line number (1-based)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    return parse_config_text(text, str(path), base_dir=path.parent)


def parse_config_text(
    text: str, name: str, *, base_dir: Path | None = None
) -> dict[str, tuple[Any, int]]:
    """Parse and check a config document; `name` is how messages refer to it."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name} line {mark.line + 1} column {mark.column + 1}" if mark else name
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "malformed YAML"
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{name} line 1: expected a mapping with an '{SECTION}:' section")
    lines = _key_lines(root)
    for key in data:
        if key != SECTION:  # ignored, but never silently: a typo would lose every setting
            log.warning("%s", unknown_top_level_key(name, lines.get(str(key), 1), key))
    section = data.get(SECTION)
    if section is None:
        return {}
    section_node = _child(root, SECTION)
    if not isinstance(section, dict) or section_node is None:
        line = lines.get(SECTION, 1)
        raise ConfigError(f"{name} line {line}: '{SECTION}' must be a mapping of settings")
    key_lines = _key_lines(section_node)
    out: dict[str, tuple[Any, int]] = {}
    for key, raw in section.items():
        line = key_lines.get(str(key), lines.get(SECTION, 1))
        where = f"{name} line {line}"
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), sorted(KEYS), n=1)
            hint = f"did you mean '{SECTION}.{close[0]}'? " if close else ""
            raise ConfigError(
                f"{where}: unknown setting '{SECTION}.{key}'; {hint}"
                f"known: {', '.join(sorted(KEYS))}"
            )
        value = _check_value(str(key), raw, where)
        if key == "ca_bundle" and isinstance(value, str) and base_dir is not None:
            value = str((base_dir / Path(value).expanduser()).resolve())
        out[str(key)] = (value, line)
    return out


def unknown_top_level_key(name: str, line: int, key: object) -> str:
    close = difflib.get_close_matches(str(key), [SECTION], n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return (
        f"{name} line {line}: unknown top-level key {str(key)!r} is ignored; {hint}"
        f"settings go under '{SECTION}:'"
    )


def _check_value(key: str, raw: Any, where: str) -> Any:
    setting = f"'{SECTION}.{key}'"
    if raw is None:
        if key in _MAPPING_KEYS:
            return {}
        if key in {"api_key", "ca_bundle", "auth_provider"}:
            return None
        raise ConfigError(f"{where}: {setting} has no value")
    if key in _STRING_KEYS:
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(f"{where}: {setting} must be a non-empty string, not {raw!r}")
        return raw.strip().rstrip("/") if key == "base_url" else raw.strip()
    if key in _BOOL_KEYS:
        if not isinstance(raw, bool):
            raise ConfigError(f"{where}: {setting} must be true or false, not {raw!r}")
        return raw
    if key == "timeout":
        return _positive_number(raw, f"{where}: {setting}")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: {setting} must be a mapping, not {raw!r}")
    if key == "auth_headers":
        headers: dict[str, str] = {}
        for name, value in raw.items():
            if not isinstance(name, str) or isinstance(value, dict | list) or value is None:
                raise ConfigError(
                    f"{where}: {setting} maps header names to text values; {name!r} does not"
                )
            headers[name] = value if isinstance(value, str) else str(value)
        return headers
    return {str(name): value for name, value in raw.items()}


def _positive_number(raw: Any, what: str) -> float:
    try:
        number = float(raw) if not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not number > 0 or math.isinf(number):
        raise ConfigError(f"{what} must be a number of seconds above 0, not {raw!r}")
    return number


def _key_lines(node: yaml.Node) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(key.value): key.start_mark.line + 1
        for key, _ in node.value
        if isinstance(key, yaml.ScalarNode)
    }


def _child(node: yaml.MappingNode, name: str) -> yaml.Node | None:
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == name:
            return value  # type: ignore[no-any-return]
    return None


# -- environment ---------------------------------------------------------------------------------


def read_environment(environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    """Settings from environment variables, each with the variable's name."""
    out: dict[str, tuple[Any, str]] = {}
    for key, names in ENV_NAMES.items():
        name = next((n for n in names if environ.get(n, "").strip()), None)
        if name is None:
            continue
        raw = environ[name].strip()
        value: Any
        if key in _BOOL_KEYS:
            value = parse_bool(raw, name)
        elif key == "timeout":
            value = _positive_number(raw, f"environment variable {name}")
        elif key == "base_url":
            value = raw.rstrip("/")
        else:
            value = raw
        out[key] = (value, name)
    return out


def parse_bool(raw: str, name: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"environment variable {name} must be true or false, not {raw!r}")

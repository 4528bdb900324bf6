"""The environment variable names a settings model reads, field by field.

pydantic-settings maps a field to `env_prefix + NAME` unless the field names its variables with a
`validation_alias`. Several places need that mapping spelled out: the server builds its settings
from one merged environment (process environment over `.env`), refuses `.env` names that no
setting reads, and the configuration reference and `serve --help` list every name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


def field_env_names(
    settings_cls: type[BaseSettings], name: str, field: FieldInfo
) -> tuple[str, ...]:
    """The variables that set `field`, first one first (upper case)."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice).upper() for choice in alias.choices if isinstance(choice, str))
    if isinstance(alias, str):
        return (alias.upper(),)
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    return ((prefix + name).upper(),)


def env_names(settings_cls: type[BaseSettings]) -> dict[str, tuple[str, ...]]:
    """Field name → the variables that set it."""
    return {
        name: field_env_names(settings_cls, name, field)
        for name, field in settings_cls.model_fields.items()
    }


def all_env_names(models: Iterable[type[BaseSettings]]) -> frozenset[str]:
    return frozenset(n for model in models for names in env_names(model).values() for n in names)


def settings_from(settings_cls: type[S], environ: Mapping[str, str]) -> S:
    """`settings_cls` validated from `environ` (names matched without regard to case, as
    pydantic-settings does). The model's own `.env` file is not read: `environ` is the whole
    configuration."""
    upper = {key.upper(): value for key, value in environ.items()}
    values: dict[str, Any] = {}
    for name, field in settings_cls.model_fields.items():
        aliased = field.validation_alias is not None
        for env_name in field_env_names(settings_cls, name, field):
            if env_name in upper:
                values[env_name if aliased else name] = upper[env_name]
                break
    return settings_cls(_env_file=None, **values)

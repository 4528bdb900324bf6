"""`autocoder chat`: a local coding assistant on any OpenAI-compatible endpoint.

Config (`config`), authentication (`auth`, `tls`), the model (`provider`), the conversation and
the turn loop (`conversation`, `assistant`), and the terminal (`io`, `view`, `repl`), assembled
by `session.build_session`.
"""

from runner.chat.auth import AuthenticationProvider, RefreshingBearerAuth
from runner.chat.config import LLMConfig, load_config
from runner.chat.errors import ChatError, ConfigError
from runner.chat.provider import ChatProvider, ProviderSettings

__all__ = [
    "AuthenticationProvider",
    "ChatError",
    "ChatProvider",
    "ConfigError",
    "LLMConfig",
    "ProviderSettings",
    "RefreshingBearerAuth",
    "load_config",
]

"""Assemble the assistant from settings: provider, auth, TLS, tools, conversation, REPL."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.chat.approvals import AskCommand, CommandApprovals
from runner.chat.assistant import SYSTEM_PROMPT, Assistant, Responder
from runner.chat.auth import (
    AuthenticationProvider,
    AuthSetup,
    build_auth,
    load_auth_provider,
)
from runner.chat.claude_assistant import EngineAssistant
from runner.chat.config import LLMConfig
from runner.chat.conversation import Conversation
from runner.chat.hints import explain_failure
from runner.chat.io import ChatIO
from runner.chat.plugins import plugin_tools
from runner.chat.provider import ChatProvider, ProviderSettings, make_provider
from runner.chat.repl import Repl, TurnRunner
from runner.chat.tls import ssl_context
from runner.sandbox import parse_sandbox_mode
from runner.tools import Toolbox, ToolSpec, default_tools

log = logging.getLogger(__name__)


@dataclass
class ChatSession:
    """A ready assistant; `close()` releases the provider's connections and the event loop."""

    responder: Responder
    runner: TurnRunner
    repl: Repl
    config: LLMConfig
    auth: AuthSetup | None
    provider: ChatProvider | None = None

    @property
    def conversation(self) -> Conversation:
        return self.responder.conversation

    def close(self) -> None:
        if self.provider is not None:
            try:
                self.runner.run(self.provider.aclose())
            except Exception as exc:  # closing must not hide what happened before
                log.debug("closing the provider failed: %s", exc)
        self.runner.close()


def provider_settings(config: LLMConfig, auth: AuthSetup) -> ProviderSettings:
    return ProviderSettings(
        base_url=config.base_url,
        model=config.model,
        timeout=config.timeout,
        headers=auth.headers,
        api_key=auth.api_key,
        auth=auth.auth,
        verify=ssl_context(config.ca_bundle, source=config.source_of("ca_bundle")),
        extra_params=config.extra_params,
    )


def build_session(
    config: LLMConfig,
    io: ChatIO,
    *,
    working_dir: Path,
    engine: str = "openai",
    allow_all: bool = False,
    environ: Mapping[str, str],
    extra_tools: Iterable[ToolSpec] = (),
    auth_provider: AuthenticationProvider | None = None,
) -> ChatSession:
    """Everything `autocoder chat` needs. Raises `ChatError` (or `ConfigError`) when it cannot.

    `auth_provider` is used instead of the one the config names; `extra_tools` are offered to
    the model besides the default tools and those installed as plug-ins.
    """
    worktree = working_dir.resolve()
    conversation = Conversation(SYSTEM_PROMPT.format(worktree=worktree))
    runner = TurnRunner()
    if engine == "claude":
        from runner.engines.claude import ClaudeEngine

        model = None if config.source_of("model") == "the default" else config.model
        responder: Responder = EngineAssistant(ClaudeEngine(), conversation, worktree, model=model)
        repl = Repl(responder, io, runner, banner=_banner(config, "claude", conversation))
        return ChatSession(responder, runner, repl, config, None)

    provider_of_auth = auth_provider or load_auth_provider(config.auth_provider)
    auth = build_auth(config, provider_of_auth, environ)
    provider = make_provider(engine, provider_settings(config, auth))
    approvals = CommandApprovals(_asker(io), allow_all=allow_all)
    # Fail closed as the runner does: without bubblewrap no command tool, unless the person at
    # the terminal sets AUTOCODER_SANDBOX=off for their own machine (the banner then says so).
    sandbox_mode = parse_sandbox_mode(environ.get("AUTOCODER_SANDBOX"))
    toolbox = Toolbox.for_worktree(worktree, confirm=approvals.confirm, sandbox_mode=sandbox_mode)
    sandbox_notice = toolbox.sandbox.status.notice()
    registry = default_tools(toolbox)
    for tool in [*plugin_tools(toolbox), *extra_tools]:
        registry.register(tool, replace=True)
    responder = Assistant(provider, registry, toolbox, conversation, approvals=approvals)
    repl = Repl(
        responder,
        io,
        runner,
        explain=lambda message: explain_failure(message, config, auth.mode),
        banner=_banner(config, engine, conversation)
        + (f"\n⚠️ {sandbox_notice}" if sandbox_notice else ""),
    )
    return ChatSession(responder, runner, repl, config, auth, provider)


def _banner(config: LLMConfig, engine: str, conversation: Conversation) -> str:
    where = (
        "Claude (ANTHROPIC_* settings)"
        if engine == "claude"
        else (f"{config.model} at {config.base_url}")
    )
    return (
        f"autocoder chat — {where}\n"
        f"correlation id {conversation.correlation_id}; /help for commands, /quit to leave"
    )


def _asker(io: ChatIO) -> AskCommand:
    def ask(command: str, reason: str) -> bool:
        why = reason.split(";", 1)[0]  # the first part says why; the rest lists the allowlist
        io.write(f"The model wants to run: {command}\nIt is not allowed by default: {why}\n")
        try:
            answer = io.read_line("Run it? [y/N] ")
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask

"""The `allowed_commands` input: extra allowlist entries on top of the repository's own.

The runner takes extra commands per session in `EngineRequest.allowed_commands`, filled from
the repository's `.github/autocoder.yml`. The workflow's input widens that the same way (the hard
refusals stay), by wrapping the engine: no change to the runner's interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from runner.engines.base import Engine, EngineOutcome, EngineRequest, EventSink


@dataclass
class ExtraAllowedCommands:
    """An `Engine` that runs `engine` with `extra` added to each request's allowed commands."""

    engine: Engine
    extra: tuple[str, ...]
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.engine.name

    async def run(self, request: EngineRequest, emit: EventSink) -> EngineOutcome:
        merged = tuple(dict.fromkeys((*request.allowed_commands, *self.extra)))
        return await self.engine.run(replace(request, allowed_commands=merged), emit)


def with_allowed_commands(engine: Engine, extra: tuple[str, ...]) -> Engine:
    return ExtraAllowedCommands(engine, extra) if extra else engine

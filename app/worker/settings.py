"""The worker's own knobs (`AUTOCODER_*`; every one has a default). `autocoder serve` validates
them once with the App's settings (`app.config.ServeConfig`, which also reads `.env`); a
session process reads them from the environment the server gave it.
`AUTOCODER_CONCURRENCY`, `AUTOCODER_EXECUTOR` and the database come from the App's settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTOCODER_", extra="ignore")

    lease_seconds: float = Field(default=60.0, gt=0)
    heartbeat_seconds: float | None = Field(default=None, gt=0)  # default: a third of the lease
    poll_seconds: float = Field(default=1.0, gt=0)
    max_per_installation: int | None = Field(default=None, ge=1)
    max_attempts: int = Field(
        default=3, ge=1, description="attempts of a job before a transient failure is final"
    )
    retry_backoff_seconds: float = Field(default=30.0, ge=0)
    retry_backoff_max_seconds: float = Field(default=900.0, ge=0)
    cancel_grace_seconds: float = Field(default=30.0, ge=0)
    stop_grace_seconds: float = Field(default=15.0, ge=0)
    session_log_dir: Path | None = None
    github_seconds_between_writes: float = Field(default=1.0, ge=0)

    container_engine: str = Field(
        default="docker",
        description="the container engine's CLI for the docker executor: docker, podman",
    )
    docker_image: str = "autocoder:latest"
    docker_cpus: float = Field(default=2.0, gt=0)
    docker_memory: str = "4g"
    docker_pids: int = Field(default=1024, ge=16)
    docker_network: str = "bridge"

    @property
    def heartbeat_interval(self) -> float:
        return self.heartbeat_seconds or max(self.lease_seconds / 3, 0.2)

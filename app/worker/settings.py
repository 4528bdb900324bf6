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
    github_write_burst: int = Field(
        default=8,
        ge=0,
        description="writes a session may send at once before seconds_between_writes spaces "
        "them (a short session's few writes are not delayed; a long run is still paced)",
    )

    container_engine: str = Field(
        default="docker",
        description="the container engine's CLI for the docker executor: docker, podman",
    )
    docker_image: str = "autocoder:latest"
    docker_cpus: float = Field(default=2.0, gt=0)
    docker_memory: str = "4g"
    docker_pids: int = Field(default=1024, ge=16)
    docker_network: str = "bridge"

    # The kubernetes executor (app.executors.kubernetes): one Job per session.
    kubernetes_image: str = Field(
        default="autocoder:latest", description="the session pods' image (the project's image)"
    )
    kubernetes_namespace: str = Field(
        default="default", description="namespace of the sessions' Jobs, Secrets, NetworkPolicies"
    )
    kubernetes_kubeconfig: Path | None = Field(
        default=None,
        description="kubeconfig file to reach the cluster; unset: the in-cluster service account",
    )
    kubernetes_context: str | None = Field(
        default=None, description="the kubeconfig's context; unset: its current context"
    )
    kubernetes_cpu: str = Field(default="2", description="CPU request and limit of a session pod")
    kubernetes_memory: str = Field(
        default="4Gi", description="memory request and limit of a session pod"
    )
    kubernetes_egress_cidrs: str = Field(
        default="",
        description="comma-separated addresses (CIDRs) a session pod may reach besides DNS: "
        "GitHub's (api.github.com/meta: api, git) and the model endpoint's; unset: DNS only",
    )
    kubernetes_deadline_margin_seconds: int = Field(
        default=300,
        ge=0,
        description="a Job's activeDeadlineSeconds is the session's time limit plus this",
    )
    kubernetes_start_timeout: float = Field(
        default=300.0,
        gt=0,
        description="seconds a session pod may stay unschedulable before the attempt fails",
    )

    @property
    def heartbeat_interval(self) -> float:
        return self.heartbeat_seconds or max(self.lease_seconds / 3, 0.2)

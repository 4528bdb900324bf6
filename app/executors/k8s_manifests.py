"""The Kubernetes objects of one session, as plain data (pure functions, no client, no I/O):
the `kubernetes` executor (`app.executors.kubernetes`) sends them, the tests check them against
Kubernetes' own schema (tests/k8s_schema).

One attempt of one job is three objects, all named `session_name(job, attempt)` and labelled
with the job (`LABEL_JOB`), so an executor that takes the job over finds and removes them:

- a **NetworkPolicy** selecting the session's pod: no ingress; egress only to DNS (port 53 of
  the cluster's DNS pods) and to `egress_cidrs` (GitHub's and the model endpoint's addresses —
  a NetworkPolicy names addresses, not host names) on the ports of GitHub's and the model's
  URLs. It is created first, so the pod never runs unconfined;
- a **Job** running the project's image: `restartPolicy: Never`, `backoffLimit: 0` (the worker
  decides about retries), `activeDeadlineSeconds` = the session's own time limit plus a margin,
  no service-account token, resource requests and limits, non-root, no privilege escalation,
  every capability dropped. Its container runs `python -m app.executors.k8s_entry`, which reads
  the work order from the Secret's volume and runs the session process with it on stdin; the
  session's events come back on the pod's log (JSON lines);
- a **Secret** with the work order (`ORDER_KEY`) and the session's environment (`ENV_KEY`),
  owned by the Job (`ownerReferences`), so it is deleted with it. Nothing secret is in a plain
  field of any manifest: values are only in the Secret's data.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from app.executors.base import SESSION_ARGV
from runner.work_order import WorkOrder

LABEL_JOB = "autocoder.dev/job"
LABEL_ATTEMPT = "autocoder.dev/attempt"
LABEL_SESSION = "autocoder.dev/session"
CONTAINER = "session"
SECRET_DIR = "/run/autocoder"  # noqa: S105  # a path
SECRET_DIR_ENV = "AUTOCODER_SESSION_SECRET_DIR"  # noqa: S105  # a name
ORDER_KEY = "work-order.json"
ENV_KEY = "env.json"
ENTRY_MODULE = "app.executors.k8s_entry"
DEFAULT_IMAGE = "autocoder:latest"
ANTHROPIC_URL = "https://api.anthropic.com"
# Names that describe the server's machine (its paths, its user); the image has its own.
HOST_ONLY_ENV = frozenset({"PATH", "HOME", "TMPDIR", "USER", "LOGNAME", "PYTHONPATH"})


@dataclass(frozen=True)
class KubernetesOptions:
    image: str = DEFAULT_IMAGE
    namespace: str = "default"
    cpu: str = "2"  # requests and limits, as Kubernetes quantities
    memory: str = "4Gi"
    ephemeral_storage: str = "10Gi"
    egress_cidrs: tuple[str, ...] = ()  # GitHub's and the model endpoint's addresses
    deadline_margin_s: int = 300  # activeDeadlineSeconds = the session's limit + this
    stop_grace_s: int = 30  # terminationGracePeriodSeconds: SIGTERM → the session concludes
    image_pull_policy: str = "IfNotPresent"
    dns_namespace: str = "kube-system"  # where the cluster's DNS pods run
    session_command: tuple[str, ...] = ("python", *SESSION_ARGV)
    extra_labels: Mapping[str, str] = field(default_factory=dict)


def session_name(job_id: int, attempt: int) -> str:
    """The Job's, Secret's and NetworkPolicy's name (a DNS label, well under 63 characters)."""
    return f"autocoder-job-{job_id}-{attempt}"


def labels(job_id: int, attempt: int, options: KubernetesOptions) -> dict[str, str]:
    return {
        **options.extra_labels,
        "app.kubernetes.io/name": "autocoder",
        "app.kubernetes.io/component": "session",
        LABEL_JOB: str(job_id),
        LABEL_ATTEMPT: str(attempt),
        LABEL_SESSION: session_name(job_id, attempt),
    }


def job_selector(job_id: int) -> str:
    """The label selector of every object of any attempt of `job_id`."""
    return f"{LABEL_JOB}={job_id}"


def session_selector(job_id: int, attempt: int) -> str:
    return f"{LABEL_SESSION}={session_name(job_id, attempt)}"


def deadline_seconds(order: WorkOrder, options: KubernetesOptions) -> int:
    """`activeDeadlineSeconds`: the session's own time limit plus the margin (start-up, image
    pull, concluding its check run)."""
    return int(order.settings.timeout_minutes * 60) + max(options.deadline_margin_s, 0)


def _port(url: str) -> int:
    parts = urlsplit(url)
    if parts.port is not None:
        return parts.port
    return 80 if parts.scheme == "http" else 443


def egress_ports(order: WorkOrder) -> list[int]:
    """The TCP ports the session dials: GitHub's (API and git over HTTPS) and the model's."""
    settings = order.settings
    if settings.engine == "openai":
        model_url = settings.base_url or "https://api.openai.com/v1"
    else:
        model_url = settings.anthropic_base_url or ANTHROPIC_URL
    return sorted({_port(settings.github_api_url), _port(model_url)})


def pod_env(env: Mapping[str, str]) -> dict[str, str]:
    """The session's environment as it goes into the Secret: what the server hands a session,
    minus what describes the server's machine."""
    return {name: value for name, value in sorted(env.items()) if name not in HOST_ONLY_ENV}


def network_policy_manifest(
    job_id: int, attempt: int, order: WorkOrder, options: KubernetesOptions
) -> dict[str, Any]:
    ports = [{"protocol": "TCP", "port": port} for port in egress_ports(order)]
    egress: list[dict[str, Any]] = [
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": options.dns_namespace}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]
    if options.egress_cidrs:
        egress.append(
            {"to": [{"ipBlock": {"cidr": cidr}} for cidr in options.egress_cidrs], "ports": ports}
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": session_name(job_id, attempt),
            "namespace": options.namespace,
            "labels": labels(job_id, attempt, options),
        },
        "spec": {
            "podSelector": {"matchLabels": {LABEL_SESSION: session_name(job_id, attempt)}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": egress,
        },
    }


def entry_command(options: KubernetesOptions) -> list[str]:
    """The container's command: the entry, then the session's own command after `--`."""
    return ["python", "-m", ENTRY_MODULE, "--", *options.session_command]


def job_manifest(
    job_id: int, attempt: int, order: WorkOrder, options: KubernetesOptions
) -> dict[str, Any]:
    name = session_name(job_id, attempt)
    resources = {"cpu": options.cpu, "memory": options.memory}
    if options.ephemeral_storage:
        resources["ephemeral-storage"] = options.ephemeral_storage
    pod_labels = labels(job_id, attempt, options)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": options.namespace, "labels": pod_labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds(order, options),
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": options.stop_grace_s,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": CONTAINER,
                            "image": options.image,
                            "imagePullPolicy": options.image_pull_policy,
                            "command": entry_command(options),
                            "env": [
                                {"name": SECRET_DIR_ENV, "value": SECRET_DIR},
                                {"name": "PYTHONUNBUFFERED", "value": "1"},
                            ],
                            "resources": {"requests": resources, "limits": dict(resources)},
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [
                                {"name": "work-order", "mountPath": SECRET_DIR, "readOnly": True}
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "work-order",
                            "secret": {"secretName": name, "defaultMode": 0o440},
                        }
                    ],
                },
            },
        },
    }


def owner_reference(job: Mapping[str, Any]) -> dict[str, Any]:
    """Makes an object part of the Job (the garbage collector deletes it with the Job)."""
    metadata = job["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": False,
        "blockOwnerDeletion": False,
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret_manifest(
    job_id: int,
    attempt: int,
    order_line: str,
    env: Mapping[str, str],
    options: KubernetesOptions,
    owner: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The work order and the session's environment, in `data` (base64) only."""
    metadata: dict[str, Any] = {
        "name": session_name(job_id, attempt),
        "namespace": options.namespace,
        "labels": labels(job_id, attempt, options),
    }
    if owner is not None:
        metadata["ownerReferences"] = [owner_reference(owner)]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "immutable": True,
        "metadata": metadata,
        "data": {
            ORDER_KEY: _b64(order_line if order_line.endswith("\n") else order_line + "\n"),
            ENV_KEY: _b64(json.dumps(pod_env(env), sort_keys=True)),
        },
    }


# -- reading what the API reports (pure) -----------------------------------------------------

# A container waiting for one of these will not start without someone changing something
# (`ErrImagePull` alone may be a glitch: the kubelet retries, then reports `ImagePullBackOff`).
IMAGE_FAILURES = frozenset({"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
CONFIG_FAILURES = frozenset({"CreateContainerConfigError", "CreateContainerError"})


@dataclass(frozen=True)
class PodView:
    """What the executor needs of a pod."""

    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    start_failure: str | None  # why it cannot start (a message a person can act on)
    transient: bool  # whether another attempt may fare better
    exit_code: int | None  # the session container's, once terminated
    reason: str  # the pod's reason (DeadlineExceeded, Evicted, …)


def view_pod(pod: Mapping[str, Any], image: str = "") -> PodView:
    status = pod.get("status") or {}
    phase = str(status.get("phase") or "Pending")
    reason = str(status.get("reason") or "")
    exit_code: int | None = None
    failure: str | None = None
    transient = True
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        terminated = state.get("terminated")
        if terminated is not None:
            exit_code = int(terminated.get("exitCode", 1))
        waiting = state.get("waiting") or {}
        why = str(waiting.get("reason") or "")
        if why in IMAGE_FAILURES:
            failure = (
                f"the session's image {container.get('image') or image} could not be pulled "
                f"({why}: {waiting.get('message') or 'no detail'}); check "
                "AUTOCODER_KUBERNETES_IMAGE and the cluster's access to its registry"
            )
            transient = False
        elif why in CONFIG_FAILURES:
            detail = waiting.get("message") or "no detail"
            failure = f"the session's container could not be created ({why}: {detail})"
            transient = False
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
            and failure is None
        ):
            failure = (
                "the session's pod cannot be scheduled (Unschedulable: "
                f"{condition.get('message') or 'no node fits'}); lower "
                "AUTOCODER_KUBERNETES_CPU / AUTOCODER_KUBERNETES_MEMORY or add capacity"
            )
            transient = True
    return PodView(phase, failure, transient, exit_code, reason)

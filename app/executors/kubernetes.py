"""The `kubernetes` executor: each session runs as a Kubernetes Job from the project's image
(AUTOCODER_EXECUTOR=kubernetes), watched through the Kubernetes API with the official client.

`launch` returns a handle that looks to the worker like a local session (`app.executors.base`):
the worker writes the work order on its `stdin` and reads event lines from its `stdout`. Behind
them, once the order is written (`app.executors.k8s_manifests` builds every object):

1. a NetworkPolicy (egress to DNS, GitHub and the model only), the Job, and a Secret holding
   the work order and the session's environment, owned by the Job;
2. the executor watches the Job's pod (`?watch=true`). A pod that cannot start — its image
   cannot be pulled (ImagePullBackOff), or it stays unschedulable past the start timeout — ends
   the attempt with a `Failure` saying why and what to change;
3. once the pod runs, its log is followed (`?follow=true`): JSON lines that are session events
   go to the worker; anything else (the session's stderr) to the session's log file;
4. when the pod has ended, or when the Job's deadline (its `activeDeadlineSeconds` plus a
   minute) has passed, the attempt ends and everything is deleted: the Job (propagationPolicy
   Background, which takes the pod), the Secret and the NetworkPolicy.

Control: a stop (the worker's `Stop` line, a cancel, the server stopping) is **the Job's
deletion**: the pod gets SIGTERM, the session concludes its check run within the grace period
and exits. The pod has no stdin, so other control lines (a fresh installation token, a
maintainer's `tell`) do not reach it: a session in a pod runs on the token it started with
(an hour; keep AUTOCODER_TIMEOUT_MINUTES below it).

A Job does not die with the server that made it; a worker that takes the job over deletes every
object labelled with the job first (`clean_up`).

Length: about 500 lines because the four steps above share one handle's state (the objects it
made, the pod it watches, the pipes the worker holds) and end in one clean-up; the manifests and
pod-status reading, which need none of it, are already `app.executors.k8s_manifests`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from app.executors.base import LaunchSpec
from app.executors.k8s_manifests import (
    CONTAINER,
    KubernetesOptions,
    deadline_seconds,
    job_manifest,
    job_selector,
    network_policy_manifest,
    secret_manifest,
    session_name,
    session_selector,
    view_pod,
)
from runner.events import (
    Failure,
    Result,
    SessionEvent,
    Stop,
    event_line,
    parse_control,
    parse_event,
)
from runner.work_order import WorkOrder

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from app.worker.settings import WorkerSettings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
DEADLINE_SLACK_S = 60.0  # past activeDeadlineSeconds, the App stops waiting for the cluster
WATCH_S = 5  # each watch request's timeoutSeconds: how often the watcher looks at the clock


class KubernetesError(RuntimeError):
    """The cluster refused something; the message says what to fix."""


def api_client(kubeconfig: Path | None = None, context: str | None = None) -> ApiClient:
    """A client from the kubeconfig file when one is named, else from the pod's own
    service account (the App running in the cluster)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    if kubeconfig is not None:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), context=context, client_configuration=configuration
        )
    else:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


class Cluster:
    """The few Kubernetes API calls the executor makes, on plain dicts (the official client's
    objects converted at this edge)."""

    def __init__(self, client: ApiClient, namespace: str) -> None:
        from kubernetes.client import BatchV1Api, CoreV1Api, NetworkingV1Api

        self.client = client
        self.namespace = namespace
        self.batch = BatchV1Api(client)
        self.core = CoreV1Api(client)
        self.networking = NetworkingV1Api(client)

    def _plain(self, obj: object) -> dict[str, Any]:
        data: dict[str, Any] = self.client.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
        return data

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Creates one object from its manifest (the client sends a dict as it is)."""
        kind, ns = manifest["kind"], self.namespace
        body: Any = manifest
        if kind == "Job":
            return self._plain(self.batch.create_namespaced_job(ns, body))
        if kind == "Secret":
            return self._plain(self.core.create_namespaced_secret(ns, body))
        if kind == "NetworkPolicy":
            return self._plain(self.networking.create_namespaced_network_policy(ns, body))
        raise ValueError(kind)

    def delete(self, kind: str, name: str) -> bool:
        """Deletes one object; False if it was not there."""
        from kubernetes.client import V1DeleteOptions
        from kubernetes.client.exceptions import ApiException

        ns = self.namespace
        options = V1DeleteOptions(propagation_policy="Background")
        try:
            if kind == "Job":
                self.batch.delete_namespaced_job(name, ns, body=options)
            elif kind == "Secret":
                self.core.delete_namespaced_secret(name, ns, body=options)
            elif kind == "NetworkPolicy":
                self.networking.delete_namespaced_network_policy(name, ns, body=options)
            else:
                raise ValueError(kind)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def names(self, kind: str, selector: str) -> list[str]:
        ns = self.namespace
        if kind == "Job":
            found: Any = self.batch.list_namespaced_job(ns, label_selector=selector)
        elif kind == "Secret":
            found = self.core.list_namespaced_secret(ns, label_selector=selector)
        elif kind == "NetworkPolicy":
            found = self.networking.list_namespaced_network_policy(ns, label_selector=selector)
        else:
            raise ValueError(kind)
        return [item.metadata.name for item in found.items]

    def get_job(self, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self._plain(self.batch.read_namespaced_job(name, self.namespace))
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def watch_pods(self, selector: str, timeout_s: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event type, pod) from one watch request, which the server ends after timeout_s."""
        from kubernetes import watch

        watcher = watch.Watch()  # type: ignore[no-untyped-call]
        try:
            for event in watcher.stream(  # type: ignore[no-untyped-call]
                self.core.list_namespaced_pod,
                self.namespace,
                label_selector=selector,
                timeout_seconds=timeout_s,
                _request_timeout=timeout_s + 30,
            ):
                yield str(event["type"]), dict(event["raw_object"])
        finally:
            watcher.stop()  # type: ignore[no-untyped-call]

    def follow_log(self, pod: str) -> Iterator[bytes]:
        """The container's log, line by line, as it is written, until the container ends."""
        response: Any = self.core.read_namespaced_pod_log(
            pod, self.namespace, container=CONTAINER, follow=True, _preload_content=False
        )
        try:
            pending = b""
            for chunk in response.stream(4096, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                yield from lines
            if pending:
                yield pending
        finally:
            response.release_conn()


class KubernetesSession:
    """One attempt as a Job. `stdin`/`stdout` are the worker's ends."""

    def __init__(
        self,
        spec: LaunchSpec,
        cluster: Cluster,
        options: KubernetesOptions,
        *,
        start_timeout_s: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.spec = spec
        self.cluster = cluster
        self.options = options
        self.start_timeout_s = start_timeout_s
        self.clock = clock
        self.name = session_name(spec.job_id, spec.attempt)
        control_r, control_w = os.pipe()
        event_r, event_w = os.pipe()
        self.stdin: IO[bytes] = os.fdopen(control_w, "wb")
        self.stdout: IO[bytes] = os.fdopen(event_r, "rb")
        self._control_in = os.fdopen(control_r, "rb")
        self._event_out: IO[bytes] | None = os.fdopen(event_w, "wb")
        self._log: IO[bytes] | None = None
        if spec.log_path is not None:
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = spec.log_path.open("ab")
        self._lock = threading.Lock()
        self.ended = threading.Event()
        self.cleaned = threading.Event()  # the Job, Secret and NetworkPolicy are deleted
        self.exit_code: int | None = None
        self.concluded = False  # the session sent its Result or Failure
        self.created = False
        self.deleting = False
        self.deadline_s = 0.0
        self._following: threading.Thread | None = None
        threading.Thread(target=self._pump, name=f"k8s-{self.name}", daemon=True).start()

    @property
    def description(self) -> str:
        return f"Kubernetes Job {self.options.namespace}/{self.name}"

    # -- the worker's side ---------------------------------------------------------------------

    def _pump(self) -> None:
        """The work order first (then the objects are made), then control lines."""
        order_line: bytes | None = None
        for raw in self._control_in:
            line = raw.strip()
            if not line:
                continue
            if order_line is None:
                order_line = line
                threading.Thread(
                    target=self._run, args=(line,), name=f"k8s-watch-{self.name}", daemon=True
                ).start()
                continue
            try:
                control = parse_control(line)
            except ValueError:
                continue
            if isinstance(control, Stop):
                self._delete_job()
            else:
                log.info("%s: a pod takes no %s line", self.description, control.type)

    def wait(self, timeout: float | None = None) -> int | None:
        if not self.ended.wait(timeout):
            return None
        self.cleaned.wait(30)
        return self.exit_code

    def stop(self, grace_s: float) -> int:
        """Delete the Job (the pod gets SIGTERM and `stop_grace_s` to conclude); after
        `grace_s` and a little more, the attempt ends whatever the cluster does."""
        self._delete_job()
        if not self.ended.wait(max(grace_s, 0) + 10):
            self._end(Failure(error="the session's pod did not stop in time", transient=True), -15)
            self._clean_up()
        self.cleaned.wait(30)
        return self.exit_code if self.exit_code is not None else -15

    # -- the Job's life --------------------------------------------------------------------------

    def _run(self, order_line: bytes) -> None:
        try:
            order = WorkOrder.from_line(order_line)
        except ValueError:
            self._end(Failure(error="the worker wrote no valid work order", transient=False))
            return
        try:
            self._create(order, order_line.decode())
        except Exception as error:
            log.warning("%s: could not be created: %s", self.description, error)
            self._end(Failure(error=f"could not create the session's Job: {error}", transient=True))
            self._clean_up()
            return
        try:
            self._watch()
        except Exception as error:
            log.warning("%s: watching failed: %s", self.description, error)
            self._end(Failure(error=f"lost sight of the session's pod: {error}", transient=True))
        finally:
            self._clean_up()

    def _create(self, order: WorkOrder, order_line: str) -> None:
        spec, options = self.spec, self.options
        self.deadline_s = deadline_seconds(order, options) + DEADLINE_SLACK_S
        self.started_at = self.clock()
        self.cluster.create(network_policy_manifest(spec.job_id, spec.attempt, order, options))
        job = self.cluster.create(job_manifest(spec.job_id, spec.attempt, order, options))
        self.created = True
        self.cluster.create(
            secret_manifest(spec.job_id, spec.attempt, order_line, spec.env, options, owner=job)
        )
        log.info("job %s: session started as %s", spec.job_id, self.description)

    def _watch(self) -> None:
        selector = session_selector(self.spec.job_id, self.spec.attempt)
        pod_exit: int | None = None
        while not self.ended.is_set():
            if self.clock() - self.started_at > self.deadline_s:
                self._end(self._deadline_failure(), exit_code=-9)
                return
            for kind, pod in self.cluster.watch_pods(selector, WATCH_S):
                view = view_pod(pod, self.options.image)
                name = str((pod.get("metadata") or {}).get("name") or "")
                waited = self.clock() - self.started_at
                if view.start_failure is not None and (
                    not view.transient or waited > self.start_timeout_s
                ):
                    self._end(Failure(error=view.start_failure, transient=view.transient))
                    return
                if view.phase in ("Running", "Succeeded", "Failed") and self._following is None:
                    self._following = threading.Thread(
                        target=self._follow, args=(name,), name=f"k8s-log-{name}", daemon=True
                    )
                    self._following.start()
                if view.phase in ("Succeeded", "Failed") or kind == "DELETED":
                    pod_exit = view.exit_code if view.exit_code is not None else pod_exit
                    self._finish(pod_exit, deleted=kind == "DELETED")
                    return
                if self.ended.is_set():
                    return
            if self.deleting and self._following is None:
                self._end(Failure(error="stopped before its pod ran", transient=True), -15)
                return

    def _finish(self, exit_code: int | None, *, deleted: bool) -> None:
        """The pod has ended: the rest of its log, then the attempt's end."""
        if self._following is not None:
            self._following.join(timeout=30)
        last: SessionEvent | None = None
        if not self.concluded:
            job = None
            with contextlib.suppress(Exception):
                job = self.cluster.get_job(self.name)
            if _deadline_exceeded(job):
                last = self._deadline_failure()
        code = exit_code if exit_code is not None else (-15 if deleted else 1)
        self._end(last, exit_code=code)

    def _deadline_failure(self) -> Failure:
        return Failure(
            error=f"the session's Job passed its deadline ({self.deadline_s - DEADLINE_SLACK_S:g}s:"
            " the session's time limit plus AUTOCODER_KUBERNETES_DEADLINE_MARGIN)",
            transient=False,
        )

    def _follow(self, pod: str) -> None:
        try:
            for raw in self.cluster.follow_log(pod):
                self._take(raw)
        except Exception as error:
            log.warning("%s: reading the log of %s failed: %s", self.description, pod, error)

    def _take(self, raw: bytes) -> None:
        line = raw.decode(errors="replace").strip()
        if not line:
            return
        try:
            event = parse_event(line)
        except ValueError:
            if self._log is not None:  # the session's stderr, merged into the pod's log
                with contextlib.suppress(OSError, ValueError):
                    self._log.write(line.encode() + b"\n")
                    self._log.flush()
            return
        if isinstance(event, Result | Failure):
            self.concluded = True
        self._emit(event)

    def _emit(self, event: SessionEvent) -> None:
        with self._lock:
            if self._event_out is None:
                return
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                self._event_out.write(event_line(event).encode())
                self._event_out.flush()

    def _end(self, last: SessionEvent | None = None, exit_code: int = 0) -> None:
        if last is not None:
            self._emit(last)
        with self._lock:
            if self._event_out is not None:
                self._event_out.close()
                self._event_out = None
            if self.exit_code is None:
                self.exit_code = exit_code
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
        self.ended.set()

    def _delete_job(self) -> None:
        if self.deleting:
            return
        self.deleting = True
        if not self.created:
            return
        try:
            self.cluster.delete("Job", self.name)
        except Exception as error:
            log.warning("%s: could not delete it: %s", self.description, error)

    def _clean_up(self) -> None:
        for kind in ("Job", "Secret", "NetworkPolicy"):
            try:
                self.cluster.delete(kind, self.name)
            except Exception as error:
                log.warning("%s: could not delete its %s: %s", self.description, kind, error)
        self.cleaned.set()


def _deadline_exceeded(job: dict[str, Any] | None) -> bool:
    conditions = ((job or {}).get("status") or {}).get("conditions") or []
    return any(
        c.get("type") == "Failed" and c.get("reason") == "DeadlineExceeded" for c in conditions
    )


class KubernetesExecutor:
    name = "kubernetes"

    def __init__(
        self, cluster: Cluster, options: KubernetesOptions, *, start_timeout_s: float = 300.0
    ) -> None:
        self.cluster = cluster
        self.options = options
        self.start_timeout_s = start_timeout_s

    def launch(self, spec: LaunchSpec) -> KubernetesSession:
        return KubernetesSession(
            spec, self.cluster, self.options, start_timeout_s=self.start_timeout_s
        )

    def clean_up(self, job_id: int) -> None:
        """Deletes every Job, Secret and NetworkPolicy an earlier attempt of `job_id` left."""
        for kind in ("Job", "Secret", "NetworkPolicy"):
            try:
                for name in self.cluster.names(kind, job_selector(job_id)):
                    self.cluster.delete(kind, name)
            except Exception as error:
                log.warning("job %s: could not clean up its %ss: %s", job_id, kind, error)


def kubernetes_options(knobs: WorkerSettings) -> KubernetesOptions:
    cidrs = tuple(part.strip() for part in knobs.kubernetes_egress_cidrs.split(",") if part.strip())
    return KubernetesOptions(
        image=knobs.kubernetes_image,
        namespace=knobs.kubernetes_namespace,
        cpu=knobs.kubernetes_cpu,
        memory=knobs.kubernetes_memory,
        egress_cidrs=cidrs,
        deadline_margin_s=knobs.kubernetes_deadline_margin_seconds,
        stop_grace_s=max(int(knobs.stop_grace_seconds), 1),
    )


def kubernetes_executor(knobs: WorkerSettings) -> KubernetesExecutor:
    """The executor `autocoder serve` runs with AUTOCODER_EXECUTOR=kubernetes."""
    options = kubernetes_options(knobs)
    if not options.egress_cidrs:
        log.warning(
            "AUTOCODER_KUBERNETES_EGRESS_CIDRS is unset: session pods may reach DNS only, "
            "not GitHub or the model; set GitHub's and the model endpoint's addresses"
        )
    client = api_client(knobs.kubernetes_kubeconfig, knobs.kubernetes_context)
    return KubernetesExecutor(
        Cluster(client, options.namespace), options, start_timeout_s=knobs.kubernetes_start_timeout
    )

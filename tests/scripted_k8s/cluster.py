"""The state of the scripted Kubernetes cluster, and what its controllers would do with it.

Objects are kept as the API server keeps them (plain JSON, `metadata.uid`, `resourceVersion`,
`creationTimestamp` filled in). Three stand-ins do the cluster's work, as far as the
`kubernetes` executor can see it:

- the **Job controller** makes one pod per Job from its template (labelled `job-name`,
  `batch.kubernetes.io/job-name` and `controller-uid`, owned by the Job) and, past the Job's
  `activeDeadlineSeconds`, kills its pod and marks the Job `Failed` / `DeadlineExceeded`;
- the **kubelet** "pulls" the image — an image not in `images` fails as a real kubelet
  reports it (`ErrImagePull`, then `ImagePullBackOff`) — waits for the Secret its volume
  names, writes the Secret's keys into a directory (the volume) and runs the container's
  command as a real process on this machine, its stdout and stderr merged into the pod's log;
  a deleted pod gets SIGTERM, then SIGKILL after `terminationGracePeriodSeconds`;
- the **garbage collector** deletes what a deleted object owned (`ownerReferences`): the
  Job's pod and its Secret.

Every change to a pod is appended to `pod_events` (a watch reads them from any position).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("Job", "Secret", "NetworkPolicy", "Pod")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def matches(labels: Mapping[str, str] | None, selector: str | None) -> bool:
    """Equality-based label selectors (`a=b,c=d`), which is all the executor sends."""
    if not selector:
        return True
    labels = labels or {}
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip().lstrip("="):
            return False
    return True


@dataclass
class PodRun:
    """What the kubelet keeps of a running pod: its process and log."""

    log: bytearray = field(default_factory=bytearray)
    done: threading.Event = field(default_factory=threading.Event)
    process: subprocess.Popen[bytes] | None = None
    volume: Path | None = None


class Cluster:
    def __init__(self, images: Mapping[str, str], *, namespace: str = "autocoder") -> None:
        self.images = dict(images)  # image → a note (the image "exists")
        self.namespace = namespace
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.pod_events: list[tuple[str, dict[str, Any]]] = []
        self.runs: dict[str, PodRun] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path?query)
        self.invalid: list[str] = []  # request bodies the schema refused
        self.lock = threading.RLock()
        self._version = 0
        self._stop = threading.Event()
        self._volumes = tempfile.TemporaryDirectory(prefix="scripted-k8s-")

    def close(self) -> None:
        self._stop.set()
        for run in list(self.runs.values()):
            if run.process is not None and run.process.poll() is None:
                run.process.kill()
                run.process.wait()
        self._volumes.cleanup()

    # -- storage ---------------------------------------------------------------------------------

    def _bump(self) -> str:
        self._version += 1
        return str(self._version)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.objects.get((kind, self.namespace, name))
            return copy.deepcopy(found) if found is not None else None

    def select(self, kind: str, selector: str | None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(obj)
                for (k, _, _), obj in self.objects.items()
                if k == kind and matches(obj["metadata"].get("labels"), selector)
            ]

    def names(self, kind: str) -> list[str]:
        with self.lock:
            return sorted(name for (k, _, name) in self.objects if k == kind)

    def create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Stores a new object (the caller has validated it); raises KeyError if it exists."""
        obj = copy.deepcopy(body)
        metadata = obj.setdefault("metadata", {})
        with self.lock:
            key = (kind, self.namespace, metadata["name"])
            if key in self.objects:
                raise KeyError(metadata["name"])
            metadata.update(
                namespace=self.namespace,
                uid=str(uuid.uuid4()),
                resourceVersion=self._bump(),
                creationTimestamp=now_iso(),
            )
            if kind == "Secret" and "stringData" in obj:
                data = obj.setdefault("data", {})
                for k, v in obj.pop("stringData").items():
                    data[k] = base64.b64encode(v.encode()).decode()
            if kind == "Job":
                obj["status"] = {"active": 0}
            self.objects[key] = obj
            if kind == "Pod":
                self.pod_events.append(("ADDED", copy.deepcopy(obj)))
        if kind == "Job":
            threading.Thread(target=self._job_controller, args=(obj,), daemon=True).start()
        return copy.deepcopy(obj)

    def delete(self, kind: str, name: str) -> dict[str, Any] | None:
        """Deletes an object and, in the background, what it owned; None if not there."""
        with self.lock:
            obj = self.objects.pop((kind, self.namespace, name), None)
        if obj is None:
            return None
        if kind == "Pod":
            self._kill_pod(obj)
        threading.Thread(target=self._collect_garbage, args=(obj,), daemon=True).start()
        return obj

    def _update_pod(self, name: str, change: Any) -> dict[str, Any] | None:
        with self.lock:
            pod = self.objects.get(("Pod", self.namespace, name))
            if pod is None:
                return None
            change(pod)
            pod["metadata"]["resourceVersion"] = self._bump()
            self.pod_events.append(("MODIFIED", copy.deepcopy(pod)))
            return pod

    def _collect_garbage(self, owner: dict[str, Any]) -> None:
        uid = owner["metadata"]["uid"]
        with self.lock:
            owned = [
                (k, name)
                for (k, _, name), obj in self.objects.items()
                if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])
            ]
        for kind, name in owned:
            self.delete(kind, name)

    # -- the Job controller ----------------------------------------------------------------------

    def _job_controller(self, job: dict[str, Any]) -> None:
        template = job["spec"]["template"]
        name = job["metadata"]["name"]
        labels = {
            **(template.get("metadata") or {}).get("labels", {}),
            "job-name": name,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": job["metadata"]["uid"],
        }
        pod_name = f"{name}-{secrets.token_hex(3)[:5]}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "labels": labels,
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": name,
                        "uid": job["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": copy.deepcopy(template["spec"]),
            "status": {
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "True"}],
            },
        }
        self.create("Pod", pod)
        self.runs[pod_name] = PodRun()
        threading.Thread(target=self._kubelet, args=(pod_name,), daemon=True).start()
        deadline = job["spec"].get("activeDeadlineSeconds")
        if deadline is None:
            return
        run = self.runs[pod_name]
        if run.done.wait(float(deadline)) or self._stop.is_set():
            return
        with self.lock:
            stored = self.objects.get(("Job", self.namespace, name))
            if stored is None:
                return
            stored["status"]["conditions"] = [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "DeadlineExceeded",
                    "message": "Job was active longer than specified deadline",
                }
            ]
        self.delete("Pod", pod_name)

    # -- the kubelet -----------------------------------------------------------------------------

    def _kubelet(self, pod_name: str) -> None:
        run = self.runs[pod_name]
        pod = self.get("Pod", pod_name)
        if pod is None:
            run.done.set()
            return
        container = pod["spec"]["containers"][0]
        image = container["image"]
        if image not in self.images:
            self._image_pull_fails(pod_name, image)
            run.done.set()
            return
        volume = self._mount(pod, run)
        if volume is None:  # the pod went away while its Secret was awaited
            run.done.set()
            return
        mounts = {m["mountPath"]: volume for m in container.get("volumeMounts") or []}
        env = {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        for item in container.get("env") or []:
            value = str(item.get("value", ""))
            env[item["name"]] = str(mounts.get(value, value))
        command = [*container.get("command", []), *container.get("args", [])]
        if command and command[0] == "python":
            command[0] = sys.executable
        run.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started = {"running": {"startedAt": now_iso()}}
        self._update_pod(pod_name, lambda p: _set_status(p, "Running", image, started))
        assert run.process.stdout is not None
        output = run.process.stdout.fileno()
        for chunk in iter(lambda: os.read(output, 4096), b""):
            with self.lock:
                run.log += chunk
        code = run.process.wait()
        terminated = {"terminated": {"exitCode": code if code >= 0 else 128 - code}}
        phase = "Succeeded" if code == 0 else "Failed"
        self._update_pod(pod_name, lambda p: _set_status(p, phase, image, terminated))
        run.done.set()

    def _mount(self, pod: dict[str, Any], run: PodRun) -> Path | None:
        """The pod's secret volume, once its Secret exists (the kubelet waits for it)."""
        secret_name = next(
            v["secret"]["secretName"] for v in pod["spec"]["volumes"] if "secret" in v
        )
        while not self._stop.is_set():
            if self.get("Pod", pod["metadata"]["name"]) is None:
                return None
            secret = self.get("Secret", secret_name)
            if secret is not None:
                volume: Path = Path(self._volumes.name) / str(pod["metadata"]["name"])
                volume.mkdir()
                for key, value in (secret.get("data") or {}).items():
                    (volume / key).write_bytes(base64.b64decode(value))
                run.volume = volume
                return volume
            time.sleep(0.05)
        return None

    def _image_pull_fails(self, pod_name: str, image: str) -> None:
        message = f'Failed to pull image "{image}": not found'
        waiting = {"waiting": {"reason": "ErrImagePull", "message": message}}
        self._update_pod(pod_name, lambda p: _set_status(p, "Pending", image, waiting))
        time.sleep(0.3)
        message = f'Back-off pulling image "{image}"'
        waiting = {"waiting": {"reason": "ImagePullBackOff", "message": message}}
        self._update_pod(pod_name, lambda p: _set_status(p, "Pending", image, waiting))

    def _kill_pod(self, pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        run = self.runs.get(name)
        grace = float(pod["spec"].get("terminationGracePeriodSeconds", 30))
        with self.lock:
            self.pod_events.append(("DELETED", copy.deepcopy(pod)))

        def stop() -> None:
            if run is None or run.process is None:
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(run.process.pid, signal.SIGTERM)
            try:
                run.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(run.process.pid, signal.SIGKILL)

        threading.Thread(target=stop, daemon=True).start()


def _set_status(pod: dict[str, Any], phase: str, image: str, state: dict[str, Any]) -> None:
    pod["status"]["phase"] = phase
    pod["status"]["containerStatuses"] = [
        {
            "name": pod["spec"]["containers"][0]["name"],
            "image": image,
            "imageID": "",
            "ready": "running" in state,
            "restartCount": 0,
            "state": state,
        }
    ]

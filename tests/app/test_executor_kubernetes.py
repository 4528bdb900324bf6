"""The `kubernetes` executor: its manifests checked against Kubernetes' own schema (vendored in
tests/k8s_schema), and its watch-and-clean-up logic run with the official client against the
scripted API server (tests/scripted_k8s), whose kubelet runs the pod's real entry
(`app.executors.k8s_entry`) with tests/app/fake_session.py as the session: events flow back
through the pod log to the worker; a pod stuck in ImagePullBackOff fails the job and is cleaned
up; a stop deletes the Job and the Secret."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from app.executors.base import LaunchSpec
from app.executors.k8s_manifests import (
    ENV_KEY,
    ORDER_KEY,
    KubernetesOptions,
    job_manifest,
    network_policy_manifest,
    secret_manifest,
    session_name,
    view_pod,
)
from app.executors.kubernetes import Cluster, KubernetesExecutor, api_client
from app.queue.events import events_of
from app.worker.orders import OrderMaker
from app.worker.pool import PoolConfig, WorkerPool
from runner.settings import RunnerSettings
from runner.work_order import WorkKind, WorkOrder
from tests.app.queue_harness import add_job, open_db
from tests.app.test_worker import job, wait_for
from tests.k8s_schema.validator import check, problems
from tests.scripted_k8s.server import ScriptedK8s, running_k8s

IMAGE = "registry.example/autocoder:test"
TOKEN = "ghs_k8s-secret-installation-token"  # a test value
API_KEY = "sk-model-secret-key-for-the-session"


def order(**settings: Any) -> WorkOrder:
    return WorkOrder(
        job_id=12,
        attempt=2,
        session_id="s-12",
        kind=WorkKind.START,
        repository="octo/hello",
        issue_number=3,
        github_token=SecretStr(TOKEN),
        settings=RunnerSettings.model_validate(
            {"engine": "openai", "base_url": "http://10.0.0.9:11434/v1", "api_key": API_KEY}
            | settings
        ),
    )


def options(**changes: Any) -> KubernetesOptions:
    base: dict[str, Any] = {
        "image": IMAGE,
        "namespace": "autocoder",
        "egress_cidrs": ("140.82.112.0/20", "10.0.0.9/32"),
        "stop_grace_s": 3,
    }
    return KubernetesOptions(**(base | changes))


# -- the manifests ---------------------------------------------------------------------------------


def test_manifests_are_valid_kubernetes_objects_with_the_session_confined() -> None:
    work = order(timeout_minutes=20)
    opts = options()
    job_obj = job_manifest(12, 2, work, opts)
    job_obj_with_uid = {**job_obj, "metadata": {**job_obj["metadata"], "uid": "u-1"}}
    policy = network_policy_manifest(12, 2, work, opts)
    secret = secret_manifest(
        12,
        2,
        work.to_line(),
        {"OPENAI_API_KEY": API_KEY, "HOME": "/root"},
        opts,
        owner=job_obj_with_uid,
    )
    check("Job", job_obj)
    check("NetworkPolicy", policy)
    check("Secret", secret)

    spec = job_obj["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert spec["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == 20 * 60 + opts.deadline_margin_s
    assert pod["automountServiceAccountToken"] is False
    assert container["resources"]["limits"] == {
        "cpu": "2",
        "memory": "4Gi",
        "ephemeral-storage": "10Gi",
    }
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["command"][:3] == ["python", "-m", "app.executors.k8s_entry"]
    assert pod["volumes"][0]["secret"]["secretName"] == session_name(12, 2)

    # The Secret is the Job's (deleted with it) and holds the order and the environment.
    assert secret["metadata"]["ownerReferences"][0] | {} == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": session_name(12, 2),
        "uid": "u-1",
        "controller": False,
        "blockOwnerDeletion": False,
    }
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert WorkOrder.from_line(data[ORDER_KEY]).github_token.get_secret_value() == TOKEN
    assert json.loads(data[ENV_KEY]) == {"OPENAI_API_KEY": API_KEY}  # no host paths
    # No secret in any plain field.
    for plain in (job_obj, policy, {**secret, "data": {}}):
        text = json.dumps(plain)
        assert TOKEN not in text and API_KEY not in text

    # Egress: DNS, and GitHub's and the model's addresses on their ports; no ingress.
    assert policy["spec"]["ingress"] == [] and policy["spec"]["policyTypes"] == [
        "Ingress",
        "Egress",
    ]
    dns, out = policy["spec"]["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert [to["ipBlock"]["cidr"] for to in out["to"]] == ["140.82.112.0/20", "10.0.0.9/32"]
    assert sorted(p["port"] for p in out["ports"]) == [443, 11434]


def test_the_schema_refuses_what_the_api_server_would() -> None:
    bad = job_manifest(1, 1, order(), options())
    bad["spec"]["template"]["spec"]["containers"][0]["mountServiceAccount"] = True
    assert problems("Job", bad)
    assert problems("Secret", {"apiVersion": "v1", "kind": "Secret", "data": "x"})


def test_a_pod_that_cannot_start_is_read_as_such() -> None:
    backoff = {
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "image": IMAGE,
                    "state": {
                        "waiting": {
                            "reason": "ImagePullBackOff",
                            "message": "Back-off pulling image",
                        }
                    },
                }
            ],
        }
    }
    view = view_pod(backoff)
    assert view.start_failure and "AUTOCODER_KUBERNETES_IMAGE" in view.start_failure
    assert not view.transient
    unschedulable = {
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient memory.",
                }
            ],
        }
    }
    view = view_pod(unschedulable)
    assert view.start_failure and "Insufficient memory" in view.start_failure and view.transient
    assert (
        view_pod(
            {
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [{"state": {"waiting": {"reason": "ErrImagePull"}}}],
                }
            }
        ).start_failure
        is None
    )  # retried first
    assert view_pod({"status": {"phase": "Running"}}).start_failure is None


# -- against the scripted API server ---------------------------------------------------------------


@pytest.fixture
def k8s(tmp_path: Path) -> Iterator[ScriptedK8s]:
    with running_k8s({IMAGE: "the project's image"}, tmp_path) as scripted:
        yield scripted


def executor(k8s: ScriptedK8s, plan: dict[str, Any], **changes: Any) -> KubernetesExecutor:
    session = ("python", "-m", "tests.app.fake_session", json.dumps(plan))
    cluster = Cluster(api_client(k8s.kubeconfig), k8s.cluster.namespace)
    return KubernetesExecutor(
        cluster, options(session_command=session, **changes), start_timeout_s=30
    )


@contextmanager
def running_pool(tmp_path: Path, executor: KubernetesExecutor) -> Iterator[Any]:
    database = open_db(tmp_path)
    pool = WorkerPool(
        database.sessions,
        executor,
        PoolConfig(
            concurrency=1,
            lease_s=5.0,
            heartbeat_s=0.3,
            poll_s=0.1,
            backoff_base_s=0.3,
            cancel_grace_s=0.5,
            stop_grace_s=3.0,
            log_dir=tmp_path / "logs",
        ),
        OrderMaker(RunnerSettings.model_validate({}), lambda job: TOKEN),
        env={"OPENAI_API_KEY": API_KEY},
    )
    pool.start()
    try:
        yield database
    finally:
        pool.stop(timeout=30)


def enqueue(database: Any) -> int:
    with database.sessions() as db:
        made = add_job(db, 1, max_attempts=1)
        assert made is not None
        return made.id


def left_over(k8s: ScriptedK8s) -> dict[str, list[str]]:
    return {kind: k8s.cluster.names(kind) for kind in ("Job", "Secret", "NetworkPolicy", "Pod")}


def test_a_sessions_events_come_back_through_the_pod_log(k8s: ScriptedK8s, tmp_path: Path) -> None:
    with running_pool(tmp_path, executor(k8s, {"fake": "succeed"})) as database:
        job_id = enqueue(database)
        wait_for(lambda: job(database, job_id).state == "succeeded", what="success")
        with database.sessions() as db:
            assert [event.type for event in events_of(db, job_id)] == ["started", "result"]
        wait_for(lambda: not any(left_over(k8s).values()), what="clean-up")
    requests = [path for _, path in k8s.cluster.requests]
    assert any("/pods?" in p and "watch=true" in p for p in requests)
    assert any(
        p.endswith("/log?") is False and "/log?" in p and "follow=true" in p for p in requests
    )
    assert ("DELETE", f"/apis/batch/v1/namespaces/autocoder/jobs/{session_name(job_id, 1)}?") in (
        k8s.cluster.requests
    )
    assert k8s.cluster.invalid == []
    # The session's stderr (merged into the pod's log) went to its log file, not to the events.
    log = (tmp_path / "logs" / f"job-{job_id}-1.log").read_text()
    assert "fake session for job" in log


def test_a_pod_stuck_in_image_pull_backoff_fails_the_job_and_is_cleaned_up(
    k8s: ScriptedK8s, tmp_path: Path
) -> None:
    missing = executor(k8s, {"fake": "succeed"}, image="registry.example/nope:1")
    with running_pool(tmp_path, missing) as database:
        job_id = enqueue(database)
        wait_for(lambda: job(database, job_id).state == "failed", what="failure")
        failed = job(database, job_id)
        assert "ImagePullBackOff" in (failed.error or "")
        assert "AUTOCODER_KUBERNETES_IMAGE" in (failed.error or "")
        wait_for(lambda: not any(left_over(k8s).values()), what="clean-up")
    assert k8s.cluster.invalid == []


def test_a_stop_deletes_the_job_and_the_secret(k8s: ScriptedK8s, tmp_path: Path) -> None:
    runner = executor(k8s, {"fake": "wait_cancel"})
    handle = runner.launch(LaunchSpec(job_id=7, attempt=1, env={"OPENAI_API_KEY": API_KEY}))
    handle.stdin.write(order().model_copy(update={"job_id": 7, "attempt": 1}).to_line().encode())
    handle.stdin.flush()
    name = session_name(7, 1)

    def running() -> bool:
        pods = k8s.cluster.select("Pod", f"autocoder.dev/session={name}")
        return bool(pods) and pods[0]["status"]["phase"] == "Running"

    wait_for(running, what="the pod running")
    assert k8s.cluster.names("Secret") == [name] and k8s.cluster.names("Job") == [name]
    started = time.monotonic()
    code = handle.stop(5)
    assert time.monotonic() - started < 15
    assert code != 0  # the session was stopped, not finished
    deletes = [path for method, path in k8s.cluster.requests if method == "DELETE"]
    assert f"/apis/batch/v1/namespaces/autocoder/jobs/{name}?" in deletes
    assert f"/api/v1/namespaces/autocoder/secrets/{name}?" in deletes
    wait_for(lambda: not any(left_over(k8s).values()), what="clean-up")
    run = k8s.cluster.runs[next(iter(k8s.cluster.runs))]
    assert run.process is not None and run.process.poll() is not None  # the session is gone
    assert k8s.cluster.invalid == []


def test_clean_up_removes_what_an_earlier_attempt_left(k8s: ScriptedK8s) -> None:
    runner = executor(k8s, {"fake": "wait_cancel"})
    handle = runner.launch(LaunchSpec(job_id=9, attempt=1))
    handle.stdin.write(order().model_copy(update={"job_id": 9, "attempt": 1}).to_line().encode())
    handle.stdin.flush()
    wait_for(lambda: k8s.cluster.names("Secret") == [session_name(9, 1)], what="the Secret")
    runner.clean_up(9)
    wait_for(lambda: not any(left_over(k8s).values()), what="clean-up")
    assert handle.wait(20) is not None


def test_serve_settings_choose_and_shape_the_kubernetes_executor(
    k8s: ScriptedK8s, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import AppSettings
    from app.worker.pool import make_executor
    from app.worker.settings import WorkerSettings

    monkeypatch.setenv("AUTOCODER_EXECUTOR", "kubernetes")
    monkeypatch.setenv("AUTOCODER_KUBERNETES_KUBECONFIG", str(k8s.kubeconfig))
    monkeypatch.setenv("AUTOCODER_KUBERNETES_NAMESPACE", "autocoder")
    monkeypatch.setenv("AUTOCODER_KUBERNETES_IMAGE", IMAGE)
    monkeypatch.setenv("AUTOCODER_KUBERNETES_MEMORY", "8Gi")
    monkeypatch.setenv("AUTOCODER_KUBERNETES_EGRESS_CIDRS", "140.82.112.0/20, 10.0.0.9/32")
    assert AppSettings().executor == "kubernetes"
    made = make_executor("kubernetes", WorkerSettings(), "sqlite://")
    assert isinstance(made, KubernetesExecutor)
    assert (made.options.image, made.options.namespace, made.options.memory) == (
        IMAGE,
        "autocoder",
        "8Gi",
    )
    assert made.options.egress_cidrs == ("140.82.112.0/20", "10.0.0.9/32")
    made.clean_up(1)  # reaches the cluster with the kubeconfig's credentials
    assert (
        "GET",
        "/apis/batch/v1/namespaces/autocoder/jobs?labelSelector=autocoder.dev/job%3D1",
    ) in (k8s.cluster.requests)

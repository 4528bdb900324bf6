"""A scripted Kubernetes API server on loopback: the handful of endpoints the `kubernetes`
executor uses, answering as the real API server does (paths, query parameters, `Status`
objects for errors and deletions, `WatchEvent` JSON lines for `?watch=true`, the plain-text
log stream for `?follow=true`), with the cluster's work done by the stand-ins in `cluster.py`.

Every request body is checked against Kubernetes' own schema (tests/k8s_schema): an invalid
one is answered `422 Invalid` and kept in `Cluster.invalid`, so a test can assert there were
none. Requests need the bearer token of the kubeconfig `running_k8s` writes.

    with running_k8s({"autocoder:test": "runs"}, tmp_path) as k8s:
        k8s.kubeconfig  # a kubeconfig file for the official client
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.k8s_schema.validator import problems
from tests.scripted_k8s.cluster import Cluster, matches

TOKEN = "scripted-k8s-token"  # the test cluster's own
# collection path → kind (namespaced)
COLLECTIONS = {
    "/apis/batch/v1/namespaces/{ns}/jobs": ("Job", "batch", "jobs"),
    "/api/v1/namespaces/{ns}/secrets": ("Secret", "", "secrets"),
    "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies": (
        "NetworkPolicy",
        "networking.k8s.io",
        "networkpolicies",
    ),
}
LIST_API_VERSION = {"Job": "batch/v1", "Secret": "v1", "NetworkPolicy": "networking.k8s.io/v1"}


def status(code: int, reason: str, message: str, **details: Any) -> JSONResponse:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }
    if code < 400:
        body.pop("message")
        body.pop("reason")
    return JSONResponse(body, status_code=code)


def build_app(cluster: Cluster) -> Starlette:
    async def guard(request: Request) -> Response | None:
        cluster.requests.append((request.method, f"{request.url.path}?{request.url.query}"))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return status(401, "Unauthorized", "Unauthorized")
        if request.path_params.get("ns") != cluster.namespace:
            return status(403, "Forbidden", f"not allowed in namespace {request.path_params}")
        return None

    async def body_of(request: Request, kind: str) -> tuple[dict[str, Any] | None, Response | None]:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return None, status(400, "BadRequest", "the body is not JSON")
        found = problems(kind, body)
        if found:
            cluster.invalid.append(f"{request.method} {request.url.path}: {found}")
            return None, status(422, "Invalid", f"{kind} is invalid: {found[:5]}")
        return body, None

    def collection(kind: str, group: str, plural: str) -> Any:
        async def handle(request: Request) -> Response:
            refused = await guard(request)
            if refused is not None:
                return refused
            if request.method == "GET":
                items = cluster.select(kind, request.query_params.get("labelSelector"))
                return JSONResponse(
                    {
                        "kind": f"{kind}List",
                        "apiVersion": LIST_API_VERSION[kind],
                        "metadata": {"resourceVersion": str(len(cluster.pod_events))},
                        "items": items,
                    }
                )
            body, refused = await body_of(request, kind)
            if refused is not None or body is None:
                return refused or status(400, "BadRequest", "no body")
            if body.get("kind") != kind:
                return status(400, "BadRequest", f"expected a {kind}")
            try:
                created = cluster.create(kind, body)
            except KeyError:
                name = body["metadata"]["name"]
                message = f'{plural}.{group} "{name}" already exists'.replace(". ", " ")
                return status(409, "AlreadyExists", message, name=name, kind=plural)
            return JSONResponse(created, status_code=201)

        return handle

    def item(kind: str, group: str, plural: str) -> Any:
        async def handle(request: Request) -> Response:
            refused = await guard(request)
            if refused is not None:
                return refused
            name = request.path_params["name"]
            not_found = status(
                404, "NotFound", f'{plural} "{name}" not found', name=name, kind=plural
            )
            if request.method == "GET":
                found = cluster.get(kind, name)
                return JSONResponse(found) if found is not None else not_found
            if await request.body():
                _, refused = await body_of(request, "DeleteOptions")
                if refused is not None:
                    return refused
            deleted = cluster.delete(kind, name)
            if deleted is None:
                return not_found
            uid = deleted["metadata"]["uid"]
            return status(200, "", "", name=name, group=group, kind=plural, uid=uid)

        return handle

    async def pods(request: Request) -> Response:
        refused = await guard(request)
        if refused is not None:
            return refused
        selector = request.query_params.get("labelSelector")
        if request.query_params.get("watch") not in ("true", "1"):
            items = cluster.select("Pod", selector)
            return JSONResponse(
                {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}
            )
        timeout = float(request.query_params.get("timeoutSeconds") or 1800)

        async def events() -> AsyncIterator[bytes]:
            # No resourceVersion: first an ADDED event for each pod there now, as the real
            # server does; then every change.
            with cluster.lock:
                position = len(cluster.pod_events)
                current = cluster.select("Pod", selector)
            for pod in current:
                yield (json.dumps({"type": "ADDED", "object": pod}) + "\n").encode()
            ends = time.monotonic() + timeout
            while time.monotonic() < ends:
                with cluster.lock:
                    fresh = cluster.pod_events[position:]
                    position += len(fresh)
                for kind, pod in fresh:
                    if matches(pod["metadata"].get("labels"), selector):
                        yield (json.dumps({"type": kind, "object": pod}) + "\n").encode()
                await asyncio.sleep(0.05)

        return StreamingResponse(events(), media_type="application/json")

    async def pod_log(request: Request) -> Response:
        refused = await guard(request)
        if refused is not None:
            return refused
        name = request.path_params["name"]
        pod = cluster.get("Pod", name)
        run = cluster.runs.get(name)
        if pod is None or run is None:
            return status(404, "NotFound", f'pods "{name}" not found', name=name, kind="pods")
        container = request.query_params.get("container")
        if container not in (None, pod["spec"]["containers"][0]["name"]):
            return status(400, "BadRequest", f"container {container} is not valid for pod {name}")
        if run.process is None:
            message = f'container "{container}" in pod "{name}" is waiting to start'
            return status(400, "BadRequest", message)
        follow = request.query_params.get("follow") in ("true", "1")

        async def lines() -> AsyncIterator[bytes]:
            sent = 0
            while True:
                with cluster.lock:
                    chunk = bytes(run.log[sent:])
                    done = run.done.is_set()
                if chunk:
                    sent += len(chunk)
                    yield chunk
                elif done or not follow:
                    return
                else:
                    await asyncio.sleep(0.05)

        return StreamingResponse(lines(), media_type="text/plain")

    routes = []
    for path, (kind, group, plural) in COLLECTIONS.items():
        routes.append(Route(path, collection(kind, group, plural), methods=["GET", "POST"]))
        routes.append(Route(path + "/{name}", item(kind, group, plural), methods=["GET", "DELETE"]))
    routes.append(Route("/api/v1/namespaces/{ns}/pods", pods, methods=["GET"]))
    routes.append(Route("/api/v1/namespaces/{ns}/pods/{name}/log", pod_log, methods=["GET"]))
    return Starlette(routes=routes)


@dataclass
class ScriptedK8s:
    cluster: Cluster
    url: str
    kubeconfig: Path


def write_kubeconfig(path: Path, url: str, namespace: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "scripted", "cluster": {"server": url}}],
        "users": [{"name": "autocoder", "user": {"token": TOKEN}}],
        "contexts": [
            {
                "name": "scripted",
                "context": {"cluster": "scripted", "user": "autocoder", "namespace": namespace},
            }
        ],
        "current-context": "scripted",
    }
    path.write_text(json.dumps(config))
    return path


@contextmanager
def running_k8s(images: Mapping[str, str], where: Path) -> Iterator[ScriptedK8s]:
    """The scripted API server on 127.0.0.1 (a free port) until the block ends."""
    cluster = Cluster(images)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        build_app(cluster), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="scripted-k8s", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the scripted Kubernetes API server did not start")
            time.sleep(0.01)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        yield ScriptedK8s(
            cluster, url, write_kubeconfig(where / "kubeconfig", url, cluster.namespace)
        )
    finally:
        cluster.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

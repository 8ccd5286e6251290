"""Live model management (service/repository.py, routes/repository.py) against real servers: load a new version
under load with no failed request, unload drains, failed loads change nothing, the admin key, poll mode, and the
refusal when model control is off. In-flight requests are detected through the queue gauge, never by sleeping."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from service.metrics import Metrics
from service.registry import ServedModel, load_registry, load_version
from service.repository import ModelRepository
from service.settings import Settings
from tests.service.test_lifecycle import queued, wait_for
from tests.support.models import write_generator
from tests.support.server import Server

EXPLICIT = {"GANSERVE_MODEL_CONTROL": "explicit"}


def load(server: Server, name: str, **kw: object) -> httpx.Response:
    return httpx.post(f"{server.url}/v2/repository/models/{name}/load", timeout=60, **kw)  # type: ignore[arg-type]


def unload(server: Server, name: str, **kw: object) -> httpx.Response:
    return httpx.post(f"{server.url}/v2/repository/models/{name}/unload", timeout=60, **kw)  # type: ignore[arg-type]


def index(server: Server) -> list[dict[str, str]]:
    r = httpx.post(server.url + "/v2/repository/index")
    assert r.status_code == 200, r.text
    return list(r.json())


class Clients:
    """Threads generating on `gen` (latest version) until stopped; every answer's status and version is kept."""

    def __init__(self, server: Server, threads: int = 4) -> None:
        self.url = server.url + "/v1/models/gen/generate"
        self.results: list[tuple[int, str]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self, i: int) -> None:
        with httpx.Client(timeout=30) as client:
            seed = i * 1000
            while not self.stop.is_set():
                r = client.post(self.url, json={"n": 2, "seed": seed})
                self.results.append((r.status_code, r.json().get("version", r.text)))
                seed += 1

    def count(self) -> int:
        return len(self.results)

    def finish(self) -> list[tuple[int, str]]:
        self.stop.set()
        for t in self.threads:
            t.join(30)
        return self.results


def test_control_off_refuses_and_says_how_to_enable(server: Server) -> None:
    for path in ("/v2/repository/index", "/v2/repository/models/gen/load", "/v2/repository/models/gen/unload"):
        r = httpx.post(server.url + path)
        assert r.status_code == 403 and r.json()["type"] == "model_control_off"
        assert "GANSERVE_MODEL_CONTROL=explicit" in r.json()["error"]


def test_new_version_under_load_then_replaced_in_place_with_no_failed_request(
    start_server: Callable[..., Server], models_dir: Path
) -> None:
    server = start_server(models_dir, env=EXPLICIT)
    clients = Clients(server)
    try:
        wait_for(lambda: clients.count() >= 20)
        write_generator(models_dir, "gen", version="2", seed=1)
        assert load(server, "gen").json()["versions"] == ["1", "2"]
        seen = clients.count()
        wait_for(lambda: clients.count() >= seen + 20)
        shutil.rmtree(models_dir / "gen" / "1")  # version 1 leaves, version 2 is rewritten: both are retired
        write_generator(models_dir, "gen", version="2", seed=2)
        assert load(server, "gen").json()["versions"] == ["2"]
        seen = clients.count()
        wait_for(lambda: clients.count() >= seen + 20)
    finally:
        results = clients.finish()
    assert [r for r in results if r[0] != 200] == []
    versions = [v for _, v in results]
    assert versions[0] == "1" and versions[-1] == "2" and set(versions) == {"1", "2"}
    assert httpx.get(server.url + "/v1/models/gen").json()["versions"] == ["2"]


def test_unload_lets_accepted_requests_finish_then_reload(start_server: Callable[..., Server], tmp_path: Path) -> None:
    models = tmp_path / "models"
    write_generator(models, "slow", slow=512)
    write_generator(models, "gen")
    server = start_server(models, env=EXPLICIT | {"GANSERVE_MAX_BATCH_SIZE": "1"})
    result: dict[str, httpx.Response] = {}
    worker = threading.Thread(
        target=lambda: result.update(
            r=httpx.post(server.url + "/v1/models/slow/generate", json={"n": 4, "seed": 1}, timeout=60)
        )
    )
    worker.start()
    wait_for(lambda: queued(server) >= 1)  # accepted: one image running, the rest queued
    assert unload(server, "slow").status_code == 200  # returns once drained
    worker.join(60)
    assert result["r"].status_code == 200 and len(result["r"].json()["images"]) == 4
    gone = httpx.post(server.url + "/v1/models/slow/generate", json={"seed": 1})
    assert gone.status_code == 404 and gone.json()["type"] == "unknown_model"
    assert {"name": "slow", "version": "1", "state": "UNAVAILABLE", "reason": "unloaded"} in index(server)
    assert httpx.post(server.url + "/v1/models/gen/generate", json={"seed": 1}).status_code == 200  # others serve
    assert load(server, "slow").status_code == 200
    assert httpx.post(server.url + "/v1/models/slow/generate", json={"seed": 1}, timeout=60).status_code == 200
    assert {"name": "slow", "version": "1", "state": "READY", "reason": ""} in index(server)


def test_a_failed_load_changes_nothing_and_says_why(start_server: Callable[..., Server], models_dir: Path) -> None:
    server = start_server(models_dir, env=EXPLICIT)
    before = httpx.post(server.url + "/v1/models/gen/generate", json={"seed": 3}).json()
    broken = write_generator(models_dir, "gen", version="2", seed=1)
    (broken / "model.onnx").write_bytes(b"not a model")
    r = load(server, "gen")
    assert r.status_code == 400 and r.json()["type"] == "load_failed"
    assert "gen/2" in r.json()["error"] and "sha256" in r.json()["error"]
    assert httpx.post(server.url + "/v1/models/gen/generate", json={"seed": 3}).json() == before
    row = next(r for r in index(server) if r["name"] == "gen" and r["version"] == "2")
    assert row["state"] == "UNAVAILABLE" and "sha256" in row["reason"]
    assert load(server, "nope").status_code == 404
    assert load(server, "gen", json={"parameters": {"config": "{}"}}).status_code == 422


def test_admin_key_guards_the_repository_only(start_server: Callable[..., Server], models_dir: Path) -> None:
    api, admin = "inference-key-123", "admin-key-4567"
    server = start_server(models_dir, env=EXPLICIT | {"GANSERVE_API_KEY": api, "GANSERVE_ADMIN_KEY": admin})
    assert load(server, "gen", headers={"X-API-Key": api}).status_code == 401
    assert load(server, "gen", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    generate = server.url + "/v1/models/gen/generate"
    assert httpx.post(generate, json={}, headers={"X-API-Key": admin}).status_code == 401
    assert httpx.post(generate, json={}, headers={"X-API-Key": api}).status_code == 200


def test_poll_mode_follows_the_folder(start_server: Callable[..., Server], models_dir: Path) -> None:
    server = start_server(models_dir, env={"GANSERVE_MODEL_CONTROL": "poll", "GANSERVE_POLL_S": "0.1"})
    assert load(server, "gen").status_code == 403  # the folder is the control
    write_generator(models_dir, "late")
    wait_for(lambda: httpx.post(server.url + "/v1/models/late/generate", json={}).status_code == 200)
    shutil.rmtree(models_dir / "late")
    wait_for(lambda: httpx.post(server.url + "/v1/models/late/generate", json={}).status_code == 404)
    assert {r["name"] for r in index(server)} == {"gen", "cgen", "translate"}


def test_tritonclient_repository_calls(start_server: Callable[..., Server], models_dir: Path) -> None:
    http = pytest.importorskip("tritonclient.http")
    server = start_server(models_dir, env=EXPLICIT)
    client = http.InferenceServerClient(server.url.removeprefix("http://"))
    try:
        rows = client.get_model_repository_index()
        assert {(r["name"], r["version"], r["state"]) for r in rows} >= {("gen", "1", "READY"), ("cgen", "1", "READY")}
        client.unload_model("gen")
        assert not client.is_model_ready("gen")
        client.load_model("gen")
        assert client.is_model_ready("gen")
        write_generator(models_dir, "gen", version="2", seed=1)
        client.load_model("gen")
        assert client.get_model_metadata("gen")["versions"] == ["1", "2"]
        with pytest.raises(Exception, match="no model 'nope'"):
            client.load_model("nope")
    finally:
        client.close()


async def test_loads_of_one_model_are_serialized(models_dir: Path) -> None:
    settings = Settings(models_dir=models_dir, model_control="explicit", max_batch_size=2)
    metrics = Metrics(latency_buckets=(1.0,), batch_buckets=(1.0,))
    registry = load_registry(settings, metrics)
    await registry.start()
    calls, release = [threading.Event(), threading.Event()], threading.Event()

    def loader(path: Path, s: Settings, m: Metrics) -> ServedModel:
        calls[sum(e.is_set() for e in calls)].set()
        release.wait(10)  # the first build holds until the test saw whether a second one started
        return load_version(path, s, m)

    repository = ModelRepository(registry, settings, metrics, loader=loader, settle_s=0.0)
    (models_dir / "gen" / "1" / "manifest.json").touch()
    write_generator(models_dir, "gen", version="2", seed=1)
    first = registry.get("gen", "1")
    one = asyncio.create_task(repository.load("gen"))
    assert await asyncio.to_thread(calls[0].wait, 10)
    two = asyncio.create_task(repository.load("gen"))
    assert not await asyncio.to_thread(calls[1].wait, 0.5)  # the second load waits for the model's lock
    release.set()
    assert await asyncio.gather(one, two) == [["1", "2"], ["1", "2"]]
    assert not calls[1].is_set()  # and then finds version 2 loaded: nothing rebuilt
    assert registry.get("gen", "1") is first  # the unchanged version stayed, warm
    assert registry.get("gen").version == "2"
    await registry.stop()

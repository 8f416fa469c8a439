"""Which ``queue`` an actor may name (§4.1): ``ABACO_QUEUES`` in a cluster whose workers
serve different queues, else the queues this process's workers serve."""

from __future__ import annotations

from tests.integration.inprocess import ApiServer

IMAGE = "abaco-test/busybox:1"


def refused(queue: str, known: str) -> str:
    return f"""Invalid actor description: {{'queue': "The queue '{queue}' is not one of {known}. Invalid queue name."}}"""


def _register(server: ApiServer, **fields: object):
    return server.client.post("/actors", json={"image": IMAGE, **fields})


def test_only_the_served_queues_by_default(tmp_path):
    server = ApiServer(tmp_path, backend="fake").start()
    try:
        r = _register(server, queue="gpu")
        assert r.status_code == 400 and r.json()["message"] == refused("gpu", "default")
        assert _register(server, queue="default").status_code == 200
    finally:
        server.stop()


def test_abaco_queues_lists_every_queue_of_the_cluster(tmp_path):
    server = ApiServer(tmp_path, backend="fake", queues=["default", "gpu"]).start()
    try:
        made = _register(server, queue="gpu")
        assert made.status_code == 200, made.text
        assert made.json()["result"]["queue"] == "gpu"
        r = _register(server, queue="tpu")
        assert r.status_code == 400
        assert r.json()["message"] == refused("tpu", "default, gpu")
    finally:
        server.stop()

"""The state store on a real PostgreSQL server (docs/architecture.md, "State store"): two
flowgate processes on one database share cooldowns and usage, a restart keeps them, and a
database that stops answering fails no request. PostgreSQL comes from FLOWGATE_TEST_POSTGRES
(with FLOWGATE_TEST_POSTGRES_DIR, its cluster directory, for the stop test: `.ci/run` sets both),
else a throwaway cluster is started here with scripts/throwaway-postgres."""
import json
import os
import subprocess
import tempfile
import time
import urllib.request
import uuid

import openai
import pytest

from conftest import BIN_DIR, ROOT, free_port, start_gateway, wait_for

KEY = "sk-mock-iflow-key"
SECRET = "conformance-secret-key-of-at-least-32-chars"
SCRIPT = os.path.join(ROOT, "scripts", "throwaway-postgres")


@pytest.fixture(scope="module")
def cluster():
    """(server URL, cluster directory)."""
    url, directory = os.environ.get("FLOWGATE_TEST_POSTGRES"), os.environ.get("FLOWGATE_TEST_POSTGRES_DIR")
    if url:
        yield url, directory
        return
    directory = tempfile.mkdtemp(prefix="flowgate-conf-pg-")
    url = subprocess.run([SCRIPT, "start", directory, str(free_port())], check=True, capture_output=True,
                         text=True).stdout.strip()
    yield url, directory
    subprocess.run([SCRIPT, "stop", directory])


@pytest.fixture()
def database(cluster):
    """A fresh database on the cluster: its URL."""
    base = cluster[0]
    name = "c_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", base, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return base.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def mock():
    port = free_port()
    proc = subprocess.Popen([os.path.join(BIN_DIR, "MockUpstream")], env={**os.environ, "MOCK_PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/_mock/stats")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def fail(mock, scenario):
    body = json.dumps({"key": KEY, "scenario": scenario}).encode()
    urllib.request.urlopen(urllib.request.Request(mock + "/_mock/iflow/fail", data=body, method="POST",
                                                  headers={"content-type": "application/json"}), timeout=5)


def upstream_requests(mock):
    with urllib.request.urlopen(mock + "/_mock/stats", timeout=5) as r:
        return json.load(r)["requests_by_key"].get(KEY, 0)


def gateway(mock, store):
    return start_gateway({"IFLOW_API_KEY": KEY, "IFLOW_BASE_URL": mock + "/v1", "FLOWGATE_STORE": store,
                          "FLOWGATE_SECRET_KEY": SECRET})


def chat(url):
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=30)
    return client.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "hi"}])


def error_code(url):
    with pytest.raises(openai.APIStatusError) as raised:
        chat(url)
    return raised.value.status_code, raised.value.body.get("code")


def sql(store, query):
    out = subprocess.run(["psql", store, "-At", "-c", query], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def health(url):
    with urllib.request.urlopen(url + "/health", timeout=5) as r:
        return json.load(r)


def stop(proc):
    proc.terminate()
    proc.wait(timeout=10)


def test_two_instances_share_a_cooldown_usage_and_a_restart_keeps_them(mock, database):
    fail(mock, None)
    (a, a_url), (b, b_url) = gateway(mock, database), gateway(mock, database)
    try:
        assert health(a_url)["store"] == {"kind": "postgres"}
        chat(a_url)
        chat(b_url)
        fail(mock, "http:429:30")
        assert error_code(a_url) == (429, "all_accounts_cooling")
        fail(mock, None)  # the upstream would answer again: only the shared cooldown refuses now
        asked = upstream_requests(mock)
        time.sleep(1.0)
        assert error_code(b_url) == (429, "all_accounts_cooling"), "B honours A's cooldown within a second"
        assert upstream_requests(mock) == asked, "without asking the upstream"
        time.sleep(1.5)  # usage is written once a second
        assert int(sql(database, "SELECT sum(requests) FROM usage_records WHERE status = 200")) == 2
        assert int(sql(database, "SELECT sum(requests) FROM usage_records WHERE status = 429")) == 2
        assert int(sql(database, "SELECT sum(output_tokens) FROM usage_records")) > 0
    finally:
        stop(a), stop(b)
    c, c_url = gateway(mock, database)
    try:
        time.sleep(1.0)
        assert error_code(c_url) == (429, "all_accounts_cooling"), "the cooldown outlived both processes"
        assert upstream_requests(mock) == asked
    finally:
        stop(c)


def test_a_stopped_database_fails_no_request_and_usage_is_written_when_it_returns(mock, database, cluster):
    directory = cluster[1]
    if not directory:
        pytest.skip("FLOWGATE_TEST_POSTGRES without FLOWGATE_TEST_POSTGRES_DIR: this test cannot stop it")
    fail(mock, None)
    proc, url = gateway(mock, database)
    try:
        chat(url)
        answered = 1
        subprocess.run([SCRIPT, "stop", directory], check=True)
        try:
            deadline = time.time() + 10
            while answered < 21 or ("fault" not in health(url)["store"] and time.time() < deadline):
                chat(url)  # raises on any failed request
                answered += 1
                time.sleep(0.05)
            state = health(url)
            assert state["status"] == "degraded" and "postgres" in state["store"]["fault"]
        finally:
            subprocess.run([SCRIPT, "restart", directory], check=True)
        deadline = time.time() + 20
        written = 0
        while written < answered and time.time() < deadline:
            time.sleep(0.5)
            written = int(sql(database, "SELECT coalesce(sum(requests), 0) FROM usage_records"))
        assert written == answered, "usage kept in memory while the store was down, all written after"
        while "fault" in health(url)["store"] and time.time() < deadline:
            time.sleep(0.5)
        assert "fault" not in health(url)["store"], "the fault clears once the store answers"
    finally:
        stop(proc)

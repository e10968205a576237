"""The state store on a real PostgreSQL server (docs/architecture.md, "State store"): two
flowgate processes on one database share cooldowns and usage, a restart keeps them, and a
database that stops answering fails no request. PostgreSQL comes from FLOWGATE_TEST_POSTGRES
(with FLOWGATE_TEST_POSTGRES_DIR, its cluster directory, for the stop test: `.ci/run` sets both),
else a throwaway cluster is started here with scripts/throwaway-postgres."""
import json
import os
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
import urllib.request
import uuid

import openai
import pytest

from conftest import BIN_DIR, ROOT, free_port, mock_fail, run_mock, start_gateway, stop, wait_for

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
    yield from run_mock()


def fail(mock, scenario):
    mock_fail(mock, KEY, scenario)


def stats(mock):
    with urllib.request.urlopen(mock + "/_mock/stats", timeout=5) as r:
        return json.load(r)


def upstream_requests(mock):
    return stats(mock)["requests_by_key"].get(KEY, 0)


def gateway(mock, store):
    return start_gateway({"IFLOW_API_KEY": KEY, "IFLOW_BASE_URL": mock + "/v1", "FLOWGATE_STORE": store,
                          "FLOWGATE_SECRET_KEY": SECRET})


def chat(url, timeout=30):
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=timeout)
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
        with urllib.request.urlopen(b_url + "/admin/usage?group_by=provider", timeout=5) as r:
            rows = json.load(r)["rows"]
        assert [(row["key"], row["requests"], row["errors"]) for row in rows] == [("iflow", 4, 2)], \
            "either instance reports both instances' usage"
        with urllib.request.urlopen(a_url + "/admin/requests", timeout=5) as r:
            records = json.load(r)["requests"]
        assert sorted(r["status"] for r in records) == [200, 200, 429, 429], "and each one's record"
        # Request records are kept in batches, each a JSON array of records (error_code is the 11th value).
        assert int(sql(database, "SELECT count(*) FROM usage_request_batches, json_array_elements(records::json) AS r "
                                 "WHERE r ->> 10 = 'all_accounts_cooling'")) == 2
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
        records = "SELECT coalesce(sum(count), 0) FROM usage_request_batches"
        while int(sql(database, records)) < answered and time.time() < deadline:
            time.sleep(0.5)
        assert int(sql(database, records)) == answered, "and every request's record"
        while "fault" in health(url)["store"] and time.time() < deadline:
            time.sleep(0.5)
        assert "fault" not in health(url)["store"], "the fault clears once the store answers"
    finally:
        stop(proc)


def test_the_limit_holds_across_two_instances_and_a_killed_holders_slot_lapses(mock, database):
    """One account, limit 1, 40 clients split across two processes: never two in flight at the
    upstream. Then the instance holding the slot is killed with SIGKILL: the other serves once
    the dead instance's slot lapses (at most 30 s after its last renewal)."""
    fail(mock, None)
    (a, a_url), (b, b_url) = gateway(mock, database), gateway(mock, database)
    try:
        def one(i):
            client = openai.OpenAI(base_url=(a_url if i % 2 else b_url) + "/v1", api_key="unused", max_retries=0,
                                   timeout=120)
            plain = i % 4 < 2
            messages = [{"role": "user", "content": f"scenario:{'sleep' if plain else 'silence'}:100 {i}"}]
            if plain:
                return client.chat.completions.create(model="glm-4.7", messages=messages).choices[0].message.content
            stream = client.chat.completions.create(model="glm-4.7", messages=messages, stream=True)
            return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

        with ThreadPoolExecutor(40) as pool:
            answers = list(pool.map(one, range(40)))
        assert len(answers) == 40 and all(answers)
        assert stats(mock)["max_in_flight"] == 1, "one in flight for both instances together"

        before = stats(mock)["requests"]
        def hold():
            body = json.dumps({"model": "glm-4.7", "messages": [{"role": "user", "content": "scenario:sleep:60000"}]})
            request = urllib.request.Request(a_url + "/v1/chat/completions", data=body.encode(),
                                             headers={"content-type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=60).read()
            except OSError:
                pass  # the instance is killed under it

        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        deadline = time.time() + 10
        while stats(mock)["requests"] == before and time.time() < deadline:
            time.sleep(0.05)
        assert stats(mock)["requests"] == before + 1, "A holds the slot"
        a.kill()  # SIGKILL: no release, no goodbye
        a.wait(timeout=10)
        started = time.time()
        # The client waits longer than the bound below, so a wait near 30 s fails the assertion
        # with its number instead of timing out first.
        chat(b_url, timeout=45)
        waited = time.time() - started
        assert 3 < waited < 32, f"B waited {waited:.1f} s for the dead instance's slot"
    finally:
        if a.poll() is None:
            stop(a)
        stop(b)


@pytest.fixture(scope="module")
def signin_mock():
    """A mock whose sign-ins expire within the hour (flowgate refreshes such a token at once),
    whose refreshes take 2 s (so two instances starting together both want one while it runs),
    and whose iFlow accepts the keys those sign-ins get."""
    yield from run_mock(MOCK_OAUTH_SIGNIN_EXPIRES_IN="3600", MOCK_OAUTH_REFRESH_DELAY_MS="2000",
                        MOCK_IFLOW_MORE_KEYS=",".join(f"sk-for-access-{i}" for i in range(1, 10)))


def signin_env(mock, store, home):
    return {"PATH": os.environ.get("PATH", ""), "HOME": home, "FLOWGATE_STORE": store,
            "FLOWGATE_SECRET_KEY": SECRET, "IFLOW_OAUTH_URL": mock, "IFLOW_BASE_URL": mock + "/v1",
            "IFLOW_SETTINGS": "/nonexistent/settings.json"}


def login(mock, store, name):
    """`flowgate login iflow --name NAME --paste`, the code typed in."""
    home = tempfile.mkdtemp(prefix="flowgate-login-")
    done = subprocess.run([os.path.join(BIN_DIR, "flowgate"), "login", "iflow", "--name", name, "--paste"],
                          input="mock-auth-code\n", env=signin_env(mock, store, home), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def refreshes(mock):
    with urllib.request.urlopen(mock + "/_mock/oauth/stats", timeout=5) as r:
        return json.load(r).get("refresh_token", 0)


def account(url, name):
    return next((a for a in health(url)["providers"]["iflow"]["accounts"] if a["name"] == name), None)


def test_a_sign_in_is_shared_refreshed_once_kept_sealed_and_outlives_a_restart(signin_mock, database):
    said = login(signin_mock, database, "team")
    assert "postgres state store as account 'team'" in said
    issued = stats(signin_mock)["requests"]  # nothing asked yet
    # Started together, both find the token within a day of expiry and want to refresh it
    # while the first refresh (2 s at the mock) runs.
    with ThreadPoolExecutor(2) as starting:
        gateways = list(starting.map(
            lambda _: start_gateway(signin_env(signin_mock, database, tempfile.mkdtemp(prefix="flowgate-home-"))),
            range(2)))
    try:
        deadline = time.time() + 15
        while refreshes(signin_mock) == 0 and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(4)  # the refresh, the other instance's wait, and room for a second refresh to show
        assert refreshes(signin_mock) == 1, "one refresh for both instances"
        for _, url in gateways:
            assert account(url, "team")["state"] == "ok"
            chat(url)
        by_key = stats(signin_mock)["requests_by_key"]
        assert stats(signin_mock)["requests"] == issued + 2 and by_key.get("sk-for-access-2") == 2, \
            "both use the renewed key"
        dump = subprocess.run(["pg_dump", database], check=True, capture_output=True, text=True).stdout
        assert "CREATE TABLE" in dump and "team" in dump
        for secret in ("sk-for-access-", "access-1", "access-2", "refresh-1", "refresh-2"):
            assert secret not in dump, f"{secret} in clear in pg_dump"
    finally:
        for proc, _ in gateways:
            stop(proc)
    proc, url = start_gateway(signin_env(signin_mock, database, tempfile.mkdtemp(prefix="flowgate-home-")))
    try:
        assert account(url, "team")["state"] == "ok", "the sign-in outlived both processes"
        chat(url)
        assert refreshes(signin_mock) == 1
    finally:
        stop(proc)


def test_the_sqlite_file_holds_no_credential_in_clear(signin_mock):
    home = tempfile.mkdtemp(prefix="flowgate-sqlite-")
    env = {**signin_env(signin_mock, "", home)}
    del env["FLOWGATE_STORE"], env["FLOWGATE_SECRET_KEY"]  # the default: SQLite, a generated key
    done = subprocess.run([os.path.join(BIN_DIR, "flowgate"), "login", "iflow", "--name", "solo", "--paste"],
                          input="mock-auth-code\n", env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sqlite state store as account 'solo'" in done.stdout
    proc, url = start_gateway(env)
    try:
        deadline = time.time() + 15
        while account(url, "solo") is None and time.time() < deadline:
            time.sleep(0.2)
        assert account(url, "solo")["state"] == "ok"
        chat(url)
    finally:
        stop(proc)
    data = os.path.join(home, ".flowgate")
    assert oct(os.stat(os.path.join(data, "secret.key")).st_mode & 0o777) == "0o600"
    files = [os.path.join(data, f) for f in os.listdir(data) if f.startswith("flowgate.db")]
    assert files
    for path in files:
        with open(path, "rb") as f:
            content = f.read()
        for secret in (b"sk-for-access-", b"access-", b"refresh-"):
            assert secret not in content, f"{secret!r} in clear in {path}"

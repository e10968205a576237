"""Starts the built mock upstream and the built flowgate binary for the SDK suite.

Binaries come from FLOWGATE_BIN_DIR (default .build/debug); nothing reaches the internet.
"""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.environ.get("FLOWGATE_BIN_DIR", os.path.join(ROOT, ".build", "debug"))
MOCK_KEY = "sk-mock-iflow-key"
def _jwt(expiry):
    import base64
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return enc({"alg": "HS256", "typ": "JWT"}) + "." + enc({"sub": "user", "exp": expiry}) + ".signature"


# A Flowith token is a JWT (flowgate refuses anything else); this one lives far into the future.
FLOWITH_TOKEN = _jwt(4102444800)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                return json.load(r)
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def run_mock(**settings):
    """The mock upstreams as a process (with MOCK_… settings): yields its URL, then stops it."""
    port = free_port()
    proc = subprocess.Popen([os.path.join(BIN_DIR, "MockUpstream")],
                            env={**os.environ, "MOCK_PORT": str(port), **settings},
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for(url + "/_mock/stats")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def mock_fail(mock_url, key, scenario):
    """Makes the mock iFlow answer `key`'s requests with `scenario` ("http:429:30"); None heals it."""
    body = json.dumps({"key": key, "scenario": scenario}).encode()
    request = urllib.request.Request(mock_url + "/_mock/iflow/fail", data=body, method="POST",
                                     headers={"content-type": "application/json"})
    urllib.request.urlopen(request, timeout=5)


def stop(proc):
    proc.terminate()
    proc.wait(timeout=10)


class Servers:
    def __init__(self, mock_url, gateway_url, gateway_proc):
        self.mock_url = mock_url
        self.gateway_url = gateway_url
        self.gateway_proc = gateway_proc

    def mock_stats(self):
        with urllib.request.urlopen(self.mock_url + "/_mock/stats", timeout=2) as r:
            return json.load(r)


def start_gateway(env_extra, config=None, nofile=None, capture=False):
    """`config`: YAML text for a config file; `nofile`: a descriptor limit (ulimit -n); `capture`:
    the log through a pipe the test reads at the end (else into `flowgate.log` in the temporary
    home: a long-lived server must never block on a pipe nobody drains)."""
    port = free_port()
    home = tempfile.mkdtemp(prefix="flowgate-home-")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "PORT": str(port), "FLOWGATE_KEEPALIVE": "1"}
    if config is not None:
        env["FLOWGATE_CONFIG"] = os.path.join(home, "config.yaml")
        with open(env["FLOWGATE_CONFIG"], "w") as f:
            f.write(config)
    env.update(env_extra)
    command = [os.path.join(BIN_DIR, "flowgate"), "serve"]
    if nofile is not None:
        command = ["bash", "-c", f'ulimit -n {nofile} && exec "$0" "$@"'] + command
    log = subprocess.PIPE if capture else open(os.path.join(home, "flowgate.log"), "w")
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    proc.home = home
    wait_for(url + "/health")
    return proc, url


@pytest.fixture(scope="session")
def servers():
    mock_port = free_port()
    mock = subprocess.Popen([os.path.join(BIN_DIR, "MockUpstream")],
                            env={**os.environ, "MOCK_PORT": str(mock_port), "MOCK_FLOWITH_TOKEN": FLOWITH_TOKEN},
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True)
    mock_url = f"http://127.0.0.1:{mock_port}"
    wait_for(mock_url + "/_mock/stats")
    config = os.path.join(tempfile.mkdtemp(prefix="flowgate-conf-"), "config.yaml")
    with open(config, "w") as f:
        # iFlow first (from the environment), then Flowith, then a generic upstream.
        f.write(f"""providers:
  - kind: iflow
    name: iflow
  - kind: flowith
    name: flowith
    base_url: {mock_url}/flowith
    tokens: [{FLOWITH_TOKEN}]
  - kind: openai
    name: generic
    base_url: {mock_url}/openai/v1
    api_key: sk-generic
aliases:
  claude-*: iflow/glm-4.7
  claude-opus-*: generic/gen-large
""")
    proc, url = start_gateway({"IFLOW_API_KEY": MOCK_KEY, "IFLOW_BASE_URL": mock_url + "/v1", "FLOWGATE_CONFIG": config})
    yield Servers(mock_url, url, proc)
    for p in (proc, mock):
        p.terminate()
        p.wait(timeout=10)


@pytest.fixture(scope="session")
def impatient_client(servers):
    """A second flowgate in front of the same mock that waits only 1 s for the upstream."""
    import openai
    proc, url = start_gateway({"IFLOW_API_KEY": MOCK_KEY, "IFLOW_BASE_URL": servers.mock_url + "/v1",
                               "FLOWGATE_UPSTREAM_TIMEOUT": "1"})
    yield openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=30)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def unconfigured_gateway():
    proc, url = start_gateway({})
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def heal_accounts(url):
    """Puts every account of the gateway at `url` back in service through the console's own
    buttons (loopback, CSRF token): a test that makes the upstream reject or rate-limit an
    account must not leave the next test without one."""
    import re
    with urllib.request.urlopen(url + "/", timeout=5) as r:
        page = r.read().decode()
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    if not match:
        return
    health = json.load(urllib.request.urlopen(url + "/health", timeout=5))
    for provider, entry in health["providers"].items():
        for account in entry.get("accounts", []):
            form = urllib.parse.urlencode({"csrf": match.group(1), "provider": provider,
                                           "account": account["name"], "action": "enable"}).encode()
            request = urllib.request.Request(url + "/admin/accounts", data=form, method="POST")
            try:
                urllib.request.urlopen(request, timeout=5)
            except urllib.error.HTTPError:
                pass


@pytest.fixture(autouse=True)
def healthy_accounts(request):
    """After each test that used the shared gateway, its accounts serve again."""
    yield
    if "servers" in request.fixturenames:
        heal_accounts(request.getfixturevalue("servers").gateway_url)


@pytest.fixture()
def client(servers):
    import openai
    # No retries: the suite checks each status exactly as flowgate sent it.
    return openai.OpenAI(base_url=servers.gateway_url + "/v1", api_key="unused", max_retries=0, timeout=30)

"""The binary on its own: copied into an empty directory and run with an empty HOME
(no resource bundle beside it, no config), it serves /health and answers --version.
CI points FLOWGATE_RELEASE_BIN at the static release build (scripts/build-release)."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import BIN_DIR, free_port


def test_binary_runs_alone_from_an_empty_directory():
    workdir = tempfile.mkdtemp(prefix="flowgate-alone-")
    home = tempfile.mkdtemp(prefix="flowgate-empty-home-")
    source = os.environ.get("FLOWGATE_RELEASE_BIN") or os.path.join(BIN_DIR, "flowgate")
    binary = shutil.copy(source, os.path.join(workdir, "flowgate"))
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, cwd=workdir, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("0.") and "(commit " in version.stdout
    if os.environ.get("FLOWGATE_RELEASE_BIN"):
        linked = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        assert "libswiftCore" not in linked and "libFoundation" not in linked, "the Swift runtime is linked in"
        assert "(commit unknown)" not in version.stdout, "the release build is stamped"
    port = free_port()
    proc = subprocess.Popen([binary], cwd=workdir, env={"HOME": home, "PORT": str(port), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    health = json.load(r)
                break
            except Exception:
                time.sleep(0.1)
        assert health is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert health["status"] == "degraded"
        assert health["providers"]["iflow"]["models"] == 12
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_health_command_for_container_health_checks(servers):
    binary = os.path.join(BIN_DIR, "flowgate")
    port = servers.gateway_url.rsplit(":", 1)[1]
    ok = subprocess.run([binary, "health", "--port", port], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and ok.stdout.strip() == "ok"
    down = subprocess.run([binary, "health"], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "PORT": str(free_port())})
    assert down.returncode == 1 and "did not answer" in down.stdout


def test_the_release_binary_is_stripped():
    release = os.environ.get("FLOWGATE_RELEASE_BIN")
    if not release:
        pytest.skip("only for the release build (CI sets FLOWGATE_RELEASE_BIN)")
    sections = subprocess.run(["readelf", "-S", release], capture_output=True, text=True).stdout
    assert ".symtab" not in sections and ".debug_info" not in sections
    assert os.path.getsize(release) < 120 << 20


def test_errors_a_person_reads_name_the_problem_and_the_fix():
    binary = os.path.join(BIN_DIR, "flowgate")
    env = {"PATH": "/usr/bin:/bin", "HOME": tempfile.mkdtemp(prefix="flowgate-empty-home-")}
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run([binary, "--port", str(port)], capture_output=True, text=True, timeout=30, env=env)
    assert busy.returncode == 1
    assert f"port {port}" in busy.stderr and "--port" in busy.stderr
    assert "errno" not in busy.stderr and "descriptor" not in busy.stderr
    missing = subprocess.run([binary, "--config", "/nonexistent/flowgate.yaml"], capture_output=True, text=True,
                             timeout=30, env=env)
    assert missing.returncode != 0 and "no such file" in missing.stderr


def run_check(config_text, env_extra):
    home = tempfile.mkdtemp(prefix="flowgate-check-home-")
    config = os.path.join(home, "config.yaml")
    with open(config, "w") as f:
        f.write(config_text)
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "FLOWGATE_CONFIG": config, **env_extra}
    done = subprocess.run([os.path.join(BIN_DIR, "flowgate"), "check"], capture_output=True, text=True, timeout=60,
                          env=env)
    return done.returncode, done.stdout


def test_check_is_steady_against_a_healthy_upstream_and_fails_against_a_broken_one(servers):
    healthy = f"""providers:
  - {{kind: iflow, name: iflow}}
  - {{kind: openai, name: generic, base_url: "{servers.mock_url}/openai/v1", api_key: sk-generic}}
"""
    env = {"IFLOW_API_KEY": "sk-mock-iflow-key", "IFLOW_BASE_URL": servers.mock_url + "/v1"}
    runs = [run_check(healthy, env) for _ in range(20)]
    assert all(code == 0 for code, _ in runs), runs[0]
    assert len({out for _, out in runs}) == 1, "20 runs, 20 identical outputs"
    assert "generic (openai): ok, 2 models" in runs[0][1]

    broken_key = healthy.replace("api_key: sk-generic", "api_key: sk-wrong")
    down = healthy.replace(servers.mock_url, f"http://127.0.0.1:{free_port()}")
    for config in (broken_key, down):
        for _ in range(3):
            code, out = run_check(config, env)
            assert code == 1 and "Not working: generic" in out, out
    assert "rejected" in run_check(broken_key, env)[1]

"""The console in a real browser (headless Chromium): it renders, and its sign-in
button leads through the mock iFlow OAuth server to the success page. Screenshots
are kept in artifacts/."""
import json
import os
import shutil
import subprocess
import urllib.request

import pytest

from conftest import ROOT, start_gateway

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = os.path.join(ROOT, "artifacts")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")


def chromium(*args):
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--window-size=1100,900"]
    done = subprocess.run(base + list(args), capture_output=True, text=True, timeout=60)
    return done.stdout


@pytest.fixture(scope="module")
def console(servers):
    proc, url = start_gateway({"IFLOW_BASE_URL": servers.mock_url + "/v1", "IFLOW_OAUTH_URL": servers.mock_url})
    os.makedirs(ARTIFACTS, exist_ok=True)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_console_renders_and_sign_in_leads_to_success(console):
    shot = os.path.join(ARTIFACTS, "console.png")
    chromium(f"--screenshot={shot}", console + "/")
    assert os.path.getsize(shot) > 5000
    dom = chromium("--dump-dom", console + "/")
    assert "Sign in with iFlow" in dom and 'href="/login/iflow"' in dom
    assert "needs sign-in" in dom

    # The button's target, in the browser: flowgate → iFlow's authorize page → back to /oauth2callback.
    done = chromium("--dump-dom", console + "/login/iflow")
    assert "Signed in to iFlow as Test User" in done
    chromium(f"--screenshot={os.path.join(ARTIFACTS, 'signed-in.png')}", console + "/")

    with urllib.request.urlopen(console + "/health", timeout=5) as r:
        health = json.load(r)
    assert health["providers"]["iflow"]["state"] == "ok"
    after = chromium("--dump-dom", console + "/")
    assert "sk-fo…" in after and "Sign in with iFlow again" in after

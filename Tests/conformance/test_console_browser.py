"""The console in a real browser (headless Chromium, driven by Playwright): it renders,
its sign-in button leads through the mock iFlow OAuth server to the success page, and a
page on another origin can neither start a sign-in nor spend the account. Screenshots
are kept in artifacts/."""
import http.server
import json
import os
import shutil
import threading
import urllib.request

import pytest

from conftest import ROOT, free_port, start_gateway

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = os.path.join(ROOT, "artifacts")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def console(servers):
    proc, url = start_gateway({"IFLOW_BASE_URL": servers.mock_url + "/v1", "IFLOW_OAUTH_URL": servers.mock_url})
    os.makedirs(ARTIFACTS, exist_ok=True)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


def test_console_renders_and_sign_in_leads_to_success(console, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(console + "/")
    page.screenshot(path=os.path.join(ARTIFACTS, "console.png"), full_page=True)
    assert "needs sign-in" in page.content()
    assert page.locator("#sign-in").inner_text() == "Sign in with iFlow"

    # The button posts the form: flowgate → iFlow's authorize page → back to /oauth2callback.
    page.click("#sign-in")
    page.wait_for_selector("text=Signed in to iFlow as Test User")
    page.screenshot(path=os.path.join(ARTIFACTS, "signed-in.png"))

    with urllib.request.urlopen(console + "/health", timeout=5) as r:
        health = json.load(r)
    assert health["providers"]["iflow"]["state"] == "ok"
    page.goto(console + "/")
    after = page.content()
    assert "sk-fo…" in after and "Sign in with iFlow again" in after
    page.close()


def test_accounts_are_added_and_managed_from_the_console(console, browser):
    """A named sign-in adds an account; its row's buttons disable, enable and remove it; a
    form without the CSRF token changes nothing."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(console + "/")
    page.fill("#sign-in-account", "work")
    page.click("#sign-in")
    page.wait_for_selector("text=Signed in to iFlow as Test User")
    page.goto(console + "/")
    assert page.locator("#account-iflow-work").count() == 1
    assert page.locator("#account-iflow-default").count() == 1

    page.click("#disable-iflow-work")
    page.wait_for_selector("#enable-iflow-work")
    assert page.locator("#account-iflow-work .state").inner_text() == "disabled"
    page.screenshot(path=os.path.join(ARTIFACTS, "console-accounts.png"), full_page=True)
    with urllib.request.urlopen(console + "/health", timeout=5) as r:
        states = {a["name"]: a["state"] for a in json.load(r)["providers"]["iflow"]["accounts"]}
    assert states == {"default": "ok", "work": "disabled"}

    # The same form without its token, from the console's own origin: refused.
    page.evaluate("""() => {
        const form = document.querySelector('form[action="/admin/accounts"]');
        form.querySelector('input[name="csrf"]').remove();
        form.submit();
    }""")
    page.wait_for_selector("text=Use the buttons on the console page.")
    page.goto(console + "/")
    page.click("#enable-iflow-work")
    page.wait_for_selector("#disable-iflow-work")
    page.click("#remove-iflow-work")
    page.wait_for_selector("#sign-in")
    assert page.locator("#account-iflow-work").count() == 0
    page.close()


def serve_page(html, port):
    """A page on another origin (another port of 127.0.0.1), served until shut down."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def foreign_site(console):
    """A page on another origin that tries to start a sign-in and to spend the account."""
    html = f"""<html><body>
<form id="f" method="post" action="{console}/login/iflow"><input name="csrf" value="guess"></form>
<script>
fetch("{console}/v1/chat/completions", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{model: "glm-4.7", messages: [{{role: "user", content: "spent by a web page"}}]}})}})
  .finally(() => document.getElementById("f").submit());
</script></body></html>""".encode()

    server = serve_page(html, free_port())
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_a_foreign_page_can_neither_sign_in_nor_spend(console, browser, foreign_site, servers):
    before = servers.mock_stats()
    page = browser.new_page()
    page.goto(foreign_site)
    page.wait_for_selector("text=cross_origin_forbidden")
    page.screenshot(path=os.path.join(ARTIFACTS, "foreign-page-refused.png"))
    after = servers.mock_stats()
    assert after["requests"] == before["requests"], "the foreign page reached an upstream"
    page.close()


def test_the_admin_key_form_opens_the_console_to_another_machine(servers, browser):
    """Behind a listed proxy, a visitor from elsewhere (X-Forwarded-For) gets the admin-key
    form; the right key sets an HttpOnly, SameSite=Strict cookie that is not the key."""
    proc, url = start_gateway({"IFLOW_API_KEY": "sk-mock-iflow-key", "IFLOW_BASE_URL": servers.mock_url + "/v1",
                               "FLOWGATE_ADMIN_KEY": "admin-secret-123", "FLOWGATE_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        context = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.5"})
        page = context.new_page()
        page.goto(url + "/")
        assert page.locator("#admin-key").count() == 1 and "Providers" not in page.content()
        page.fill("#admin-key", "not-the-key")
        page.click("#open-console")
        page.wait_for_selector("#wrong-key")
        page.fill("#admin-key", "admin-secret-123")
        page.click("#open-console")
        page.wait_for_selector("text=Providers")
        page.screenshot(path=os.path.join(ARTIFACTS, "console-admin-key.png"), full_page=True)
        cookie = next(c for c in context.cookies() if c["name"] == "flowgate_admin")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != "admin-secret-123"
        context.close()
        # Without the proxy's header the same browser is local: no form.
        local = browser.new_page()
        local.goto(url + "/")
        assert "Providers" in local.content()
        local.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_listed_origin_calls_the_api_from_the_browser_through_cors(servers, browser):
    app_port = free_port()
    origin = f"http://127.0.0.1:{app_port}"
    proc, url = start_gateway({"IFLOW_API_KEY": "sk-mock-iflow-key", "IFLOW_BASE_URL": servers.mock_url + "/v1",
                               "API_KEY": "sk-browser-app", "FLOWGATE_CORS_ORIGINS": origin})
    html = f"""<html><body><pre id="out">waiting</pre><script>
fetch("{url}/v1/chat/completions", {{method: "POST",
  headers: {{"Content-Type": "application/json", "Authorization": "Bearer sk-browser-app"}},
  body: JSON.stringify({{model: "glm-4.7", messages: [{{role: "user", content: "hi"}}]}})}})
  .then(r => r.json().then(j => document.getElementById("out").textContent =
     "status " + r.status + " id " + r.headers.get("x-request-id") + " " + j.choices[0].message.content))
  .catch(e => document.getElementById("out").textContent = "failed " + e);
</script></body></html>""".encode()

    server = serve_page(html, app_port)
    try:
        page = browser.new_page()
        page.goto(origin + "/")
        page.wait_for_selector("text=Hello from mock iFlow.")
        text = page.locator("#out").inner_text()
        assert text.startswith("status 200 id ") and "null" not in text, text
        page.close()
    finally:
        server.shutdown()
        proc.terminate()
        proc.wait(timeout=10)


def test_the_usage_view_charts_the_requests_made(servers, browser):
    """A scripted mix through the official SDKs under a named key, then the console in Chromium:
    three charts whose bars for this hour carry the counts, the tables and the last requests
    agree, and no key is on the page."""
    import anthropic
    import openai

    config = "server:\n  api_keys:\n    - {name: alice, key: sk-alice-browser-key}\n"
    proc, url = start_gateway({"IFLOW_API_KEY": "sk-mock-iflow-key", "IFLOW_BASE_URL": servers.mock_url + "/v1"},
                              config=config)
    try:
        messages = [{"role": "user", "content": "hi"}]
        client = openai.OpenAI(base_url=url + "/v1", api_key="sk-alice-browser-key", max_retries=0)
        for _ in range(3):
            client.chat.completions.create(model="glm-4.7", messages=messages)
        claude = anthropic.Anthropic(base_url=url, api_key="sk-alice-browser-key", max_retries=0)
        claude.messages.create(model="glm-4.7", max_tokens=20, messages=messages)
        try:
            client.chat.completions.create(model="no-such-model", messages=messages)
        except openai.NotFoundError:
            pass

        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(url + "/")
        page.screenshot(path=os.path.join(ARTIFACTS, "console-usage.png"), full_page=True)
        charts = page.locator("figure.chart")
        assert charts.count() == 3
        titles = [charts.nth(i).locator("rect title").last.text_content() for i in range(3)]
        assert titles[0].endswith(": 5") and titles[2].endswith(": 1"), titles  # the 404 is an error
        tokens = int(titles[1].rsplit(": ", 1)[1])
        assert tokens > 0
        assert charts.nth(0).locator("rect").last.bounding_box()["height"] > 10, "this hour's bar is drawn"
        model_rows = page.locator("table[data-group=model] tr").all_inner_texts()
        assert any(row.split("\t")[:3] == ["glm-4.7", "4", "0"] for row in model_rows), model_rows
        key_rows = page.locator("table[data-group='client key'] tr").all_inner_texts()
        assert any(row.split("\t")[:2] == ["alice", "5"] for row in key_rows), key_rows
        assert page.locator("#recent tr").count() == 1 + 5
        content = page.content()
        assert "sk-alice-browser-key" not in content and "sk-mock-iflow-key" not in content
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

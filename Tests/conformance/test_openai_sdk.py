"""The OpenAI compatibility contract (SPEC 3), checked with the official openai SDK."""
import json
import os
import subprocess
import urllib.parse
import urllib.request
import time

import openai
import pytest


def ask(text):
    return [{"role": "user", "content": text}]


def test_models_list(client):
    models = client.models.list().data
    ids = [m.id for m in models]
    assert "glm-4.7" in ids
    assert all(m.object == "model" and m.owned_by in ("iflow", "flowith", "generic") for m in models)


def test_plain_completion(client):
    r = client.chat.completions.create(model="glm-4.7", messages=ask("hi"))
    assert r.object == "chat.completion"
    assert r.model == "glm-4.7"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content == "Hello from mock iFlow."
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens + r.usage.completion_tokens == r.usage.total_tokens == 9


def test_streaming(client):
    chunks = list(client.chat.completions.create(model="iflow/glm-4.7", messages=ask("hi"), stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from mock"
    reasons = [c.choices[0].finish_reason for c in chunks]
    assert reasons[-1] == "stop" and all(r is None for r in reasons[:-1])
    assert all(c.usage is None for c in chunks)
    assert all(c.model == "iflow/glm-4.7" for c in chunks)


def test_streaming_include_usage(client):
    chunks = list(client.chat.completions.create(
        model="glm-4.7", messages=ask("hi"), stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 9
    assert all(c.usage is None for c in chunks[:-1])


TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}}}}]


def test_tools_plain(client):
    r = client.chat.completions.create(model="glm-4.7", messages=ask("scenario:tool"), tools=TOOLS)
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls"
    assert call.id == "call_1" and call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


@pytest.mark.parametrize("scenario", ["tool", "tool-noindex"])
def test_tools_streamed(client, scenario):
    calls = {}
    finish = None
    for chunk in client.chat.completions.create(
            model="glm-4.7", messages=ask(f"scenario:{scenario}"), tools=TOOLS, stream=True):
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for d in choice.delta.tool_calls or []:
            entry = calls.setdefault(d.index, {"id": None, "name": None, "args": ""})
            if d.id:
                entry["id"] = d.id
            if d.function and d.function.name:
                entry["name"] = d.function.name
            if d.function and d.function.arguments:
                entry["args"] += d.function.arguments
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["id"] == "call_1" and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["args"]) == {"city": "Paris"}


def test_reasoning_content(client):
    r = client.chat.completions.create(model="glm-4.7", messages=ask("scenario:reasoning"))
    assert r.choices[0].message.model_extra["reasoning_content"] == "Let me think."
    assert r.choices[0].message.content == "42"
    thoughts = ""
    for chunk in client.chat.completions.create(model="glm-4.7", messages=ask("scenario:reasoning"), stream=True):
        thoughts += (chunk.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
    assert thoughts == "Let me think."


@pytest.mark.parametrize("scenario,status,error_class", [
    # An account the upstream rejects is the operator's problem, never the client's 401.
    ("business:434", 503, openai.InternalServerError),
    ("business:435", 400, openai.BadRequestError),
    ("business:449", 429, openai.RateLimitError),
    ("business:511", 413, openai.APIStatusError),
    ("business:514", 502, openai.InternalServerError),
    ("nochoices", 502, openai.InternalServerError),
])
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors(client, scenario, status, error_class, stream):
    with pytest.raises(error_class) as info:
        r = client.chat.completions.create(model="glm-4.7", messages=ask(f"scenario:{scenario}"), stream=stream)
        if stream:
            list(r)
    assert info.value.status_code == status
    body = info.value.body
    assert set(body) >= {"message", "type", "param", "code"}


def test_request_errors(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="no-such-model", messages=ask("hi"))
    assert info.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="glm-4.7", messages=ask("hi"), n=2)
    assert info.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="glm-4.7", messages=[{"role": "tool", "content": "x"}])
    assert "tool_call_id" in info.value.body["param"]


def test_empty_stream_is_an_error(client):
    with pytest.raises(openai.InternalServerError) as info:
        list(client.chat.completions.create(model="glm-4.7", messages=ask("scenario:empty"), stream=True))
    assert info.value.status_code == 502


def test_error_after_stream_started_is_raised_not_truncated(client):
    stream = client.chat.completions.create(model="glm-4.7", messages=ask("scenario:drop"), stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_upstream_timeout_is_504(impatient_client):
    with pytest.raises(openai.APIStatusError) as info:
        impatient_client.chat.completions.create(model="glm-4.7", messages=ask("scenario:hang:3000"))
    assert info.value.status_code == 504
    assert info.value.body["code"] == "upstream_timeout"


def test_unconfigured_gateway_says_what_to_configure(unconfigured_gateway):
    c = openai.OpenAI(base_url=unconfigured_gateway + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIStatusError) as info:
        c.chat.completions.create(model="glm-4.7", messages=ask("hi"))
    assert info.value.status_code == 503
    assert "IFLOW_API_KEY" in info.value.message


def test_disconnect_cancels_upstream_within_a_second(client, servers):
    before = servers.mock_stats()["cancelled_streams"]
    stream = client.chat.completions.create(model="glm-4.7", messages=ask("scenario:slow"), stream=True)
    for i, _ in enumerate(stream):
        if i == 2:
            break
    stream.close()
    deadline = time.time() + 1.0
    while time.time() < deadline and servers.mock_stats()["cancelled_streams"] == before:
        time.sleep(0.02)
    assert servers.mock_stats()["cancelled_streams"] > before


def test_sigterm_drains_in_flight_requests_and_exits_zero(servers):
    import signal
    import threading
    from conftest import MOCK_KEY, start_gateway
    proc, url = start_gateway({"IFLOW_API_KEY": MOCK_KEY, "IFLOW_BASE_URL": servers.mock_url + "/v1"})
    c = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0, timeout=30)
    result = {}

    def slow_request():
        try:
            r = c.chat.completions.create(model="glm-4.7", messages=ask("scenario:sleep:1500"))
            result["content"] = r.choices[0].message.content
        except Exception as e:  # recorded for the assertion below
            result["error"] = repr(e)

    worker = threading.Thread(target=slow_request)
    worker.start()
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    worker.join(timeout=20)
    assert result.get("content") == "Hello from mock iFlow.", result
    assert proc.wait(timeout=20) == 0


# ---- Flowith (SPEC 4.2) and a generic OpenAI-compatible upstream (SPEC 4.3)

def test_models_merge_all_providers(client):
    owners = {}
    for m in client.models.list().data:
        owners.setdefault(m.owned_by, []).append(m.id)
    assert "glm-4.7" in owners["iflow"]
    assert len(owners["flowith"]) == 17 and "claude-3.7-sonnet" in owners["flowith"]
    assert owners["generic"] == ["gen-small", "gen-large"]


def test_flowith_plain_and_streamed(client):
    r = client.chat.completions.create(model="gpt-4.1", messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == "Hello from Flowith"
    assert r.model == "gpt-4.1"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    chunks = list(client.chat.completions.create(model="deepseek-reasoner", messages=ask("scenario:think"),
                                                 stream=True, stream_options={"include_usage": True}))
    thought = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks if c.choices)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert thought == "pondering" and content == "The answer"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_flowith_refuses_images(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}])
    assert "text only" in info.value.message


def test_flowith_upstream_failure_is_502(client):
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="gpt-4.1", messages=ask("scenario:http:500"))
    assert info.value.status_code == 502


def test_generic_provider(client):
    r = client.chat.completions.create(model="generic/gen-large", messages=ask("hi"), n=2)
    assert [c.message.content for c in r.choices] == ["answer 0", "answer 1"]
    assert r.model == "generic/gen-large"
    chunks = list(client.chat.completions.create(model="gen-small", messages=ask("hi"), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "generic"
    assert all(c.usage is None for c in chunks)


# ---- flowgate login iflow (SPEC 1, 4.1), against the mock OAuth server

def _login_env(servers):
    import tempfile
    home = tempfile.mkdtemp(prefix="flowgate-login-")
    return home, {"PATH": os.environ.get("PATH", ""), "HOME": home, "IFLOW_OAUTH_URL": servers.mock_url}


def _signed_in(home):
    with open(os.path.join(home, ".iflow", "settings.json")) as f:
        settings = json.load(f)
    with open(os.path.join(home, ".iflow", "oauth_creds.json")) as f:
        creds = json.load(f)
    assert settings["apiKey"].startswith("sk-for-access-") and settings["selectedAuthType"] == "oauth-iflow"
    assert creds["refresh_token"].startswith("refresh-") and creds["expiry_date"] > time.time() * 1000
    for name in ("settings.json", "oauth_creds.json"):
        assert os.stat(os.path.join(home, ".iflow", name)).st_mode & 0o777 == 0o600


def test_login_paste(servers):
    from conftest import BIN_DIR
    home, env = _login_env(servers)
    done = subprocess.run([os.path.join(BIN_DIR, "flowgate"), "login", "iflow", "--paste", "--timeout", "20"], env=env,
                          input="mock-auth-code\n", capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "redirect=" + urllib.parse.quote(servers.mock_url + "/oauth/code-display", safe="") in done.stdout
    _signed_in(home)


def test_login_with_local_callback(servers):
    from conftest import BIN_DIR
    home, env = _login_env(servers)
    proc = subprocess.Popen([os.path.join(BIN_DIR, "flowgate"), "login", "iflow", "--no-browser", "--timeout", "20"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = None
    for line in proc.stdout:
        if line.strip().startswith("http"):
            url = line.strip()
            break
    assert url and "redirect=http%3A%2F%2Flocalhost%3A114" in url
    # The "browser": iFlow's authorize page redirects to the CLI's local listener.
    urllib.request.urlopen(url, timeout=10).read()
    assert proc.wait(timeout=20) == 0
    _signed_in(home)


def test_models_retrieve(client):
    model = client.models.retrieve("glm-4.7")
    assert model.id == "glm-4.7" and model.owned_by == "iflow"
    assert client.models.retrieve("iflow/glm-4.7").id == "iflow/glm-4.7"
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("no-such-model")
    assert info.value.body["code"] == "model_not_found"


def test_request_id_is_the_clients_own_or_a_new_one(client):
    fresh = client.chat.completions.with_raw_response.create(model="glm-4.7", messages=ask("hi"))
    assert fresh.headers["x-request-id"]
    assert fresh.parse()._request_id == fresh.headers["x-request-id"]
    own = client.chat.completions.with_raw_response.create(
        model="glm-4.7", messages=ask("hi"), extra_headers={"x-request-id": "my-trace-7"})
    assert own.headers["x-request-id"] == "my-trace-7"


def test_the_sdk_waits_as_long_as_the_upstreams_retry_after(servers):
    """The generic mock answers 429 with Retry-After: 7; the SDK must be told 7, not less."""
    c = openai.OpenAI(base_url=servers.gateway_url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        c.chat.completions.create(model="generic/gen-small", messages=ask("scenario:rate-limited"))
    assert info.value.response.headers["retry-after"] == "7"


def test_no_retry_for_what_no_retry_can_fix(unconfigured_gateway):
    """The default client retries twice; a 503 for missing configuration must not wait for that."""
    c = openai.OpenAI(base_url=unconfigured_gateway + "/v1", api_key="x")
    started = time.time()
    with pytest.raises(openai.APIStatusError) as info:
        c.chat.completions.create(model="glm-4.7", messages=ask("hi"))
    assert info.value.status_code == 503
    assert "retry-after" not in info.value.response.headers
    assert info.value.response.headers["x-should-retry"] == "false"
    assert time.time() - started < 1.5, "the SDK retried"


def test_usage_is_estimated_when_the_upstream_reports_none(client):
    r = client.chat.completions.create(model="glm-4.7", messages=ask("scenario:no-usage"))
    assert r.usage.completion_tokens == 6 and r.usage.total_tokens == r.usage.prompt_tokens + 6 > 6
    chunks = list(client.chat.completions.create(model="glm-4.7", messages=ask("scenario:no-usage"), stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].usage.completion_tokens == 3
    assert chunks[-1].system_fingerprint == "fp_mock"


def test_stream_options_without_stream_is_refused(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="glm-4.7", messages=ask("hi"), stream_options={"include_usage": True})
    assert info.value.body["param"] == "stream_options"


def test_embeddings_through_a_generic_provider(client):
    result = client.embeddings.create(model="generic/gen-small", input="hello")
    assert result.data[0].embedding == [0.25, -0.5, 1]
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="glm-4.7", input="hello")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the binary as another user")
def test_the_image_layout_works_under_any_uid(servers):
    """Hugging Face Spaces runs the image as uid 1000, not the uid it was built for: with the
    image's layout (/data, mode 1777, as HOME) a sign-in is written and the server runs."""
    import shutil
    import tempfile
    from conftest import BIN_DIR, free_port
    root = tempfile.mkdtemp(prefix="flowgate-image-")
    os.chmod(root, 0o755)
    data = os.path.join(root, "data")
    os.mkdir(data)
    os.chmod(data, 0o1777)
    binary = shutil.copy(os.path.join(BIN_DIR, "flowgate"), os.path.join(root, "flowgate"))
    os.chmod(binary, 0o755)
    as_user = ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"]
    env = {"PATH": "/usr/bin:/bin", "HOME": data, "IFLOW_OAUTH_URL": servers.mock_url}
    done = subprocess.run(as_user + [binary, "login", "iflow", "--paste", "--timeout", "20"], env=env,
                          input="mock-auth-code\n", capture_output=True, text=True, timeout=30, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    _signed_in(data)
    assert os.stat(os.path.join(data, ".iflow", "settings.json")).st_uid == 1000
    port = free_port()
    proc = subprocess.Popen(as_user + [binary, "serve", "--port", str(port)], cwd=root,
                            env={**env, "IFLOW_BASE_URL": servers.mock_url + "/v1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from conftest import wait_for
        health = wait_for(f"http://127.0.0.1:{port}/health")
        assert health["providers"]["iflow"]["state"] == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=10)

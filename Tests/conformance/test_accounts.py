"""Account pools through the official SDKs (docs/architecture.md, "Account pools"): a flowgate
with two iFlow accounts in front of the mock, which fails one chosen account at a time."""
import json
import os
import signal
import time
import urllib.request

import anthropic
import openai
import pytest

from conftest import start_gateway, heal_accounts, mock_fail

KEY1, KEY2 = "sk-mock-iflow-key", "sk-mock-iflow-key-2"


def ask(text):
    return [{"role": "user", "content": text}]


def fail(servers, key, scenario):
    mock_fail(servers.mock_url, key, scenario)


@pytest.fixture(scope="module")
def pool(servers):
    # key1 first (fill_first), so a failure of key1 always shows.
    config = "providers:\n  - kind: iflow\n    name: iflow\n    strategy: fill_first\n"
    proc, url = start_gateway({"IFLOW_API_KEY": f"{KEY1},{KEY2}", "IFLOW_BASE_URL": servers.mock_url + "/v1"},
                              config=config)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def healed(servers, pool):
    yield
    for key in (KEY1, KEY2):
        fail(servers, key, None)
    heal_accounts(pool)


@pytest.mark.parametrize("scenario", ["http:401", "business:434", "http:429", "business:449", "http:500"])
def test_a_failing_account_is_invisible_to_the_client(servers, pool, scenario):
    fail(servers, KEY1, scenario)
    c = openai.OpenAI(base_url=pool + "/v1", api_key="x", max_retries=0)
    assert c.chat.completions.create(model="glm-4.7", messages=ask("hi")).choices[0].message.content
    heal_accounts(pool)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in
                   c.chat.completions.create(model="glm-4.7", messages=ask("hi"), stream=True) if chunk.choices)
    assert text
    claude = anthropic.Anthropic(base_url=pool, api_key="x", max_retries=0)
    heal_accounts(pool)
    assert claude.messages.create(model="glm-4.7", max_tokens=20, messages=ask("hi")).content[0].text


def refused_in_both_dialects(pool, openai_error, anthropic_error):
    """The same request through both SDKs; returns the two errors they raised."""
    c = openai.OpenAI(base_url=pool + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai_error) as in_openai:
        c.chat.completions.create(model="glm-4.7", messages=ask("hi"))
    claude = anthropic.Anthropic(base_url=pool, api_key="x", max_retries=0)
    with pytest.raises(anthropic_error) as in_anthropic:
        claude.messages.create(model="glm-4.7", max_tokens=10, messages=ask("hi"))
    return in_openai.value, in_anthropic.value


def test_every_account_cooling_is_429_with_retry_after_in_both_dialects(servers, pool):
    fail(servers, KEY1, "http:429:30")
    fail(servers, KEY2, "http:429:20")
    o, a = refused_in_both_dialects(pool, openai.RateLimitError, anthropic.RateLimitError)
    assert o.body["code"] == "all_accounts_cooling"
    assert 18 <= int(o.response.headers["retry-after"]) <= 20
    assert a.body["error"]["type"] == "rate_limit_error" and a.response.headers.get("retry-after")


def test_no_usable_account_is_503_naming_each_in_both_dialects(servers, pool):
    fail(servers, KEY1, "http:401")
    fail(servers, KEY2, "business:434")
    o, a = refused_in_both_dialects(pool, openai.InternalServerError, anthropic.APIStatusError)
    assert o.status_code == 503 and o.body["code"] == "no_usable_account"
    assert a.status_code == 503
    assert "'key1'" in a.body["error"]["message"] and "'key2'" in a.body["error"]["message"]


def test_health_lists_each_account_without_its_key(pool):
    health = json.load(urllib.request.urlopen(pool + "/health", timeout=5))
    accounts = health["providers"]["iflow"]["accounts"]
    assert [a["name"] for a in accounts] == ["key1", "key2"]
    assert all(a["state"] == "ok" and a["in_flight"] == 0 and a["queued"] == 0 for a in accounts)
    assert all(a["key_hint"].endswith("…") and len(a["key_hint"]) <= 6 for a in accounts)
    assert KEY1 not in json.dumps(health)


def test_sighup_reloads_accounts_and_aliases_and_a_broken_file_changes_nothing(servers):
    def config(keys, alias):
        return (f"providers:\n  - kind: iflow\n    name: iflow\n    base_url: {servers.mock_url}/v1\n"
                f"    api_key: {keys}\n    settings: /nonexistent/settings.json\naliases: {{{alias}: iflow/glm-4.7}}\n")

    proc, url = start_gateway({}, config=config(KEY1, "before"))
    path = os.path.join(proc.home, "config.yaml")
    c = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
    try:
        assert c.chat.completions.create(model="before", messages=ask("hi")).choices[0].message.content
        with open(path, "w") as f:
            f.write(config(f"{KEY1},{KEY2}", "after"))
        proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            health = json.load(urllib.request.urlopen(url + "/health", timeout=5))
            if len(health["providers"]["iflow"]["accounts"]) == 2:
                break
            time.sleep(0.1)
        assert [a["name"] for a in health["providers"]["iflow"]["accounts"]] == ["key1", "key2"]
        assert c.chat.completions.create(model="after", messages=ask("hi")).choices[0].message.content
        with pytest.raises(openai.NotFoundError):
            c.chat.completions.create(model="before", messages=ask("hi"))

        with open(path, "w") as f:
            f.write("providers: [kind: nonsense\n")
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert proc.poll() is None, "SIGHUP must not stop the server"
        assert c.chat.completions.create(model="after", messages=ask("hi")).choices[0].message.content
        with open(os.path.join(proc.home, "flowgate.log")) as f:
            log = f.read()
        # SIGHUP, or the file watch if it noticed the change first.
        assert "configuration not reloaded (" in log and "still serving the previous one" in log
    finally:
        proc.terminate()
        proc.wait(timeout=10)

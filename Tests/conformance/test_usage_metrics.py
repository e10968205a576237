"""Usage and metrics as an operator reads them (docs/configuration.md, "Usage" and "Metrics"):
requests made with the official openai and anthropic SDKs under two client keys, then
`/metrics` parsed with prometheus-client's own parser and `/admin/usage` read by every
grouping; a restart (SQLite, the default store) keeps the usage."""
import json
import os
import urllib.request

import anthropic
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import mock_fail, run_mock, start_gateway, stop

MOCK_KEY = "sk-mock-iflow-key"
CONFIG = """server:
  api_keys:
    - sk-plain-client-key
    - {name: alice, key: sk-alice-client-key}
"""


@pytest.fixture(scope="module")
def mock():
    yield from run_mock()


def fail(mock, scenario):
    mock_fail(mock, MOCK_KEY, scenario)


def get(url, path):
    with urllib.request.urlopen(url + path, timeout=10) as r:
        return r.read().decode(), r.headers.get("content-type")


def samples(url):
    text, content_type = get(url, "/metrics")
    assert content_type.startswith("text/plain; version=0.0.4")
    return [s for family in text_string_to_metric_families(text) for s in family.samples], text


def total(found, name, **labels):
    return sum(s.value for s in found if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def usage(url, query):
    text, _ = get(url, "/admin/usage?" + query)
    return {row["key"]: row for row in json.loads(text)["rows"]}


def requests(url, query):
    text, _ = get(url, "/admin/requests?" + query)
    return json.loads(text)["requests"]


def test_metrics_and_usage_count_what_the_sdks_did_and_a_restart_keeps_the_usage(mock):
    fail(mock, None)
    proc, url = start_gateway({"IFLOW_API_KEY": MOCK_KEY, "IFLOW_BASE_URL": mock + "/v1"}, config=CONFIG)
    home = proc.home
    try:
        alice = openai.OpenAI(base_url=url + "/v1", api_key="sk-alice-client-key", max_retries=0)
        messages = [{"role": "user", "content": "hi"}]
        # An upstream that reports reasoning and cached tokens (3 cached of 5, 2 reasoning of 4).
        detailed = [{"role": "user", "content": "scenario:detailed-usage"}]
        alice.chat.completions.create(model="glm-4.7", messages=detailed, extra_headers={"x-request-id": "conf-plain-1"})
        stream = alice.chat.completions.create(model="glm-4.7", messages=messages, stream=True,
                                               stream_options={"include_usage": True})
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        claude = anthropic.Anthropic(base_url=url, api_key="sk-plain-client-key", max_retries=0)
        claude.messages.create(model="glm-4.7", max_tokens=50, messages=messages,
                               extra_headers={"x-request-id": "conf-anthropic-1"})
        with claude.messages.stream(model="glm-4.7", max_tokens=50, messages=messages) as events:
            assert events.get_final_text()
        with pytest.raises(openai.NotFoundError):
            alice.chat.completions.create(model="no-such-model", messages=messages)
        fail(mock, "http:400")
        with pytest.raises(anthropic.BadRequestError):
            claude.messages.create(model="glm-4.7", max_tokens=50, messages=messages)
        fail(mock, None)

        found, text = samples(url)
        assert total(found, "flowgate_requests_total", dialect="openai", provider="iflow", model="glm-4.7",
                     status="200") == 2
        assert total(found, "flowgate_requests_total", dialect="anthropic", status="200") == 2
        assert total(found, "flowgate_requests_total", dialect="openai", status="404", provider="") == 1
        assert total(found, "flowgate_requests_total", dialect="anthropic", status="400") == 1
        assert total(found, "flowgate_requests_total") == 6
        prompt = total(found, "flowgate_tokens_total", kind="prompt", provider="iflow", model="glm-4.7")
        completion = total(found, "flowgate_tokens_total", kind="completion")
        assert prompt >= 4 and completion >= 4, "every answer's tokens"
        assert total(found, "flowgate_tokens_total", kind="reasoning") == 2
        assert total(found, "flowgate_tokens_total", kind="cached") == 3
        for histogram in ("flowgate_request_duration_seconds", "flowgate_time_to_first_byte_seconds",
                          "flowgate_overhead_seconds"):
            assert total(found, histogram + "_count") == 6, histogram
        assert total(found, "flowgate_overhead_seconds_sum") < total(found, "flowgate_request_duration_seconds_sum")
        assert total(found, "flowgate_account_up", provider="iflow", account="key1") == 1
        assert total(found, "flowgate_in_flight", provider="iflow", account="key1") == 0
        assert "client-key" not in text and MOCK_KEY not in text, "no key in the metrics"

        keys = usage(url, "group_by=key")
        assert keys["alice"]["requests"] == 3 and keys["alice"]["errors"] == 1, "two answers and the 404"
        plain = next(k for k in keys if k.startswith("key-"))
        assert keys[plain]["requests"] == 3 and keys[plain]["errors"] == 1
        assert keys["alice"]["prompt_tokens"] + keys[plain]["prompt_tokens"] == prompt
        providers = usage(url, "group_by=provider")
        assert providers["iflow"]["requests"] == 5 and providers[""]["requests"] == 1, "the 404 reached no provider"
        assert usage(url, "group_by=model")["glm-4.7"]["total_tokens"] == prompt + completion
        assert sum(r["requests"] for r in usage(url, "").values()) == 6

        listed = requests(url, "")
        assert len(listed) == 6 and listed == sorted(listed, key=lambda r: r["time"], reverse=True)
        [plain_record] = requests(url, "request_id=conf-plain-1")
        assert plain_record["key"] == "alice" and plain_record["dialect"] == "openai"
        assert plain_record["provider"] == "iflow" and plain_record["upstream_model"] == "glm-4.7"
        assert (plain_record["prompt_tokens"], plain_record["completion_tokens"]) == (5, 4)
        assert (plain_record["reasoning_tokens"], plain_record["cached_tokens"]) == (2, 3)
        assert plain_record["estimated"] is False and plain_record["stream"] is False
        assert 0 < plain_record["overhead_ms"] < plain_record["total_ms"]
        [anthropic_record] = requests(url, "request_id=conf-anthropic-1")
        assert anthropic_record["dialect"] == "anthropic" and anthropic_record["key"].startswith("key-")
        streamed = [r for r in listed if r["stream"]]
        assert len(streamed) == 2 and all(0 < r["time_to_first_byte_ms"] <= r["total_ms"] for r in streamed)
        errors = {r["status"]: r["error_code"] for r in listed if r["status"] >= 400}
        assert errors[404] == "model_not_found" and errors[400], "each failure's code"
        assert "client-key" not in json.dumps(listed), "names, never keys"
    finally:
        stop(proc)
    proc, url = start_gateway({"IFLOW_API_KEY": MOCK_KEY, "IFLOW_BASE_URL": mock + "/v1", "HOME": home},
                              config=CONFIG)
    try:
        again = usage(url, "group_by=key")
        assert again["alice"]["requests"] == 3 and again[plain]["requests"] == 3, "kept across a restart"
        assert len(requests(url, "request_id=conf-plain-1")) == 1, "the records too"
        assert total(samples(url)[0], "flowgate_requests_total") == 0, "the metrics are this process's"
    finally:
        stop(proc)
    with open(os.path.join(home, "flowgate.log")) as f:
        log = f.read()
    assert "conf-plain-1" in log and "key=alice" in log, "the access lines, with the request id and key name"
    assert "client-key" not in log and MOCK_KEY not in log, "no key in the logs"

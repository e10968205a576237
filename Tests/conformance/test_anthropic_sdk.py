"""The Anthropic Messages dialect (docs/protocols/anthropic-messages.md), checked with the
official `anthropic` SDK over iFlow, Flowith and a generic upstream (all mocks)."""
import json
import socket
import time
import urllib.parse
import urllib.request

import anthropic
import pytest

from conftest import start_gateway, MOCK_KEY


@pytest.fixture()
def claude(servers):
    return anthropic.Anthropic(base_url=servers.gateway_url, api_key="unused", max_retries=0, timeout=30)


def ask(text):
    return [{"role": "user", "content": text}]


def last_body(servers):
    return servers.mock_stats()["last_body"]


WEATHER = [{"name": "get_weather", "description": "Weather of a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]


@pytest.mark.parametrize("model,text", [
    ("iflow/glm-4.7", "Hello from mock iFlow."),
    ("flowith/gpt-4.1", "Hello from Flowith"),
    ("generic/gen-small", "answer 0"),
])
def test_plain_message_over_every_provider(claude, model, text):
    m = claude.messages.create(model=model, max_tokens=100, messages=ask("hi"))
    assert m.type == "message" and m.role == "assistant" and m.model == model
    assert m.id.startswith("msg_")
    assert [b.type for b in m.content] == ["text"]
    assert m.content[0].text == text
    assert m.stop_reason == "end_turn"
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0


@pytest.mark.parametrize("model,text", [
    ("glm-4.7", "Hello from mock"),
    ("flowith/gpt-4.1", "Hello from Flowith"),
    ("generic/gen-small", "generic"),
])
def test_streamed_message_over_every_provider(claude, model, text):
    with claude.messages.stream(model=model, max_tokens=100, messages=ask("hi")) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds.count("message_start") == 1
    assert kinds[-2:] == ["message_delta", "message_stop"] or kinds[-1] == "message_stop"
    assert "".join(b.text for b in final.content if b.type == "text") == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


def test_message_start_counts_the_prompt_and_is_never_all_zero(claude, servers):
    url = servers.gateway_url + "/v1/messages"
    body = json.dumps({"model": "glm-4.7", "max_tokens": 10, "stream": True, "system": "x" * 400,
                       "messages": ask("hi")}).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        first = r.read().decode().split("\n\n")[0]
    assert first.startswith("event: message_start\ndata: ")
    usage = json.loads(first.split("data: ", 1)[1])["message"]["usage"]
    assert usage["input_tokens"] >= 100


def test_thinking_blocks_with_a_signature_that_round_trips(claude, servers):
    m = claude.messages.create(model="glm-4.7", max_tokens=100, messages=ask("scenario:reasoning"),
                               thinking={"type": "enabled", "budget_tokens": 2048})
    assert [b.type for b in m.content] == ["thinking", "text"]
    thinking = m.content[0]
    assert thinking.thinking == "Let me think." and thinking.signature
    assert last_body(servers)["reasoning_effort"] == "low"
    # The block goes back in the history unchanged; the upstream sees it as reasoning.
    claude.messages.create(model="glm-4.7", max_tokens=100, messages=[
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [thinking.model_dump(), {"type": "text", "text": "42"}]},
        {"role": "user", "content": "again"}])
    sent = last_body(servers)["messages"][1]
    assert sent["reasoning_content"] == "Let me think." and sent["content"] == "42"
    assert "signature" not in json.dumps(sent)


def test_streamed_thinking_comes_before_text_in_its_own_block(claude):
    with claude.messages.stream(model="glm-4.7", max_tokens=100, messages=ask("scenario:reasoning")) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "Let me think." and final.content[0].signature
    assert final.content[1].text == "42"
    deltas = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert deltas.index("signature_delta") < deltas.index("text_delta")


def test_flowith_thinking_becomes_a_thinking_block(claude):
    """Flowith's raw text with <think> tags arrives as canonical events, never as tags in text."""
    m = claude.messages.create(model="flowith/gpt-4.1", max_tokens=100, messages=ask("scenario:think"))
    assert [(b.type, getattr(b, "thinking", None) or getattr(b, "text", None)) for b in m.content] == [
        ("thinking", "pondering"), ("text", "The answer")]
    with claude.messages.stream(model="flowith/gpt-4.1", max_tokens=100, messages=ask("scenario:think")) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "pondering" and final.content[1].text == "The answer"
    assert final.usage.output_tokens > 0


def test_thinking_disabled_turns_the_switch_off(claude, servers):
    claude.messages.create(model="glm-4.7", max_tokens=10, messages=ask("hi"), thinking={"type": "disabled"})
    assert last_body(servers).get("chat_template_kwargs", {}).get("enable_thinking") is False or \
        last_body(servers).get("enable_thinking") is False


def test_tools_both_ways_with_consistent_ids(claude, servers):
    m = claude.messages.create(model="glm-4.7", max_tokens=100, messages=ask("scenario:tool"), tools=WEATHER)
    assert m.stop_reason == "tool_use"
    use = [b for b in m.content if b.type == "tool_use"][0]
    assert use.id.startswith("toolu_") and use.name == "get_weather" and use.input == {"city": "Paris"}
    sent = last_body(servers)
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tools"][0]["function"]["parameters"]["properties"]["city"] == {"type": "string"}
    claude.messages.create(model="glm-4.7", max_tokens=100, tools=WEATHER, messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [use.model_dump()]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]}])
    history = last_body(servers)["messages"]
    assert history[1]["tool_calls"][0]["id"] == use.id
    assert json.loads(history[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert history[2] == {"role": "tool", "tool_call_id": use.id, "content": "sunny"}


def test_streamed_tool_call_after_text_keeps_its_arguments(claude):
    with claude.messages.stream(model="glm-4.7", max_tokens=100, messages=ask("scenario:text-tool"),
                                tools=WEATHER) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[1].input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"
    partial = [e.delta.partial_json for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
    assert len(partial) == 3 and "".join(partial) == '{"city":"Paris"}'


@pytest.mark.parametrize("choice,expected", [
    ({"type": "auto"}, "auto"),
    ({"type": "any"}, "required"),
    ({"type": "none"}, "none"),
    ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
])
def test_tool_choice(claude, servers, choice, expected):
    claude.messages.create(model="generic/gen-small", max_tokens=10, messages=ask("hi"), tools=WEATHER,
                           tool_choice=choice)
    assert last_body_generic(servers)["tool_choice"] == expected


def last_body_generic(servers):
    with urllib.request.urlopen(servers.mock_url + "/_mock/generic/last", timeout=2) as r:
        return json.load(r)


def test_stop_sequences(claude, servers):
    m = claude.messages.create(model="glm-4.7", max_tokens=50, messages=ask("scenario:stop-seq"),
                               stop_sequences=["END"])
    assert last_body(servers)["stop"] == ["END"]
    assert m.stop_reason == "stop_sequence" and m.stop_sequence == "END"
    with claude.messages.stream(model="glm-4.7", max_tokens=50, messages=ask("scenario:stop-seq"),
                                stop_sequences=["END"]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == "END"


def test_metadata_user_and_sampling_reach_the_upstream(claude, servers):
    # This SDK version no longer offers temperature/top_p as arguments; older clients still send them.
    claude.messages.create(model="glm-4.7", max_tokens=7, messages=ask("hi"), metadata={"user_id": "user-42"},
                           extra_body={"temperature": 0.3, "top_p": 0.8})
    sent = last_body(servers)
    assert sent["user"] == "user-42" and sent["temperature"] == 0.3 and sent["top_p"] == 0.8
    assert sent["max_tokens"] == 7


@pytest.mark.parametrize("scenario,error,status,kind", [
    ("scenario:http:400", anthropic.BadRequestError, 400, "invalid_request_error"),
    ("scenario:http:401", anthropic.APIStatusError, 503, "api_error"),
    ("scenario:http:413", anthropic.RequestTooLargeError, 413, "request_too_large"),
    ("scenario:http:429", anthropic.RateLimitError, 429, "rate_limit_error"),
    ("scenario:http:500", anthropic.InternalServerError, 502, "api_error"),
    ("scenario:http:503", anthropic.OverloadedError, 529, "overloaded_error"),
    ("scenario:http:529", anthropic.OverloadedError, 529, "overloaded_error"),
    ("scenario:http:504", anthropic.GatewayTimeoutError, 504, "timeout_error"),
])
def test_upstream_errors_in_the_anthropic_shape(claude, scenario, error, status, kind):
    with pytest.raises(error) as caught:
        claude.messages.create(model="glm-4.7", max_tokens=10, messages=ask(scenario))
    assert caught.value.status_code == status
    assert caught.value.body["type"] == "error" and caught.value.body["error"]["type"] == kind
    assert caught.value.response.headers.get("request-id")
    if status in (429, 529):
        assert caught.value.response.headers.get("retry-after")


def test_gateway_errors_in_the_anthropic_shape(claude, servers):
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.messages.create(model="gpt-unknown", max_tokens=10, messages=ask("hi"))
    assert caught.value.body["error"]["type"] == "not_found_error"
    assert "alias" in caught.value.body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="glm-4.7", messages=ask("hi"), max_tokens=0)
    assert "max_tokens" in caught.value.body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="glm-4.7", max_tokens=10, messages=ask("hi"),
                               tools=[{"type": "web_search_20250305", "name": "web_search"}])
    assert "web_search" in caught.value.body["error"]["message"]
    # A cross-site page is refused (403) in this shape too.
    request = urllib.request.Request(
        servers.gateway_url + "/v1/messages", data=b"{}",
        headers={"content-type": "application/json", "origin": "https://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
    assert json.load(refused.value)["error"]["type"] == "permission_error"


def test_in_stream_error_event(claude):
    with pytest.raises(anthropic.APIStatusError) as caught:
        with claude.messages.stream(model="glm-4.7", max_tokens=10, messages=ask("scenario:midstream-error")) as s:
            for _ in s:
                pass
    assert caught.value.body["error"]["type"] in ("overloaded_error", "api_error", "rate_limit_error")


def test_disconnect_cancels_the_upstream(claude, servers):
    before = servers.mock_stats()["cancelled_streams"]
    with claude.messages.stream(model="glm-4.7", max_tokens=10, messages=ask("scenario:slow")) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    deadline = time.time() + 5
    while servers.mock_stats()["cancelled_streams"] == before and time.time() < deadline:
        time.sleep(0.05)
    assert servers.mock_stats()["cancelled_streams"] == before + 1


def test_count_tokens_is_local_and_counts_system_and_tools(claude, servers):
    requests_before = servers.mock_stats()["requests"]
    bare = claude.messages.count_tokens(model="claude-sonnet-4-5", messages=ask("hello world"))
    full = claude.messages.count_tokens(model="claude-sonnet-4-5", messages=ask("hello world"),
                                        system="s" * 4000, tools=WEATHER)
    assert bare.input_tokens == 3
    assert full.input_tokens > 1000
    # A burst like Claude Code's: 40 calls, none reaching an upstream.
    started = time.time()
    for _ in range(40):
        claude.messages.count_tokens(model="claude-sonnet-4-5", messages=ask("hello world"))
    assert time.time() - started < 5
    assert servers.mock_stats()["requests"] == requests_before


def test_wildcard_aliases_most_specific_first(claude, servers):
    m = claude.messages.create(model="claude-sonnet-4-5-20250929", max_tokens=10, messages=ask("hi"))
    assert m.model == "claude-sonnet-4-5-20250929" and m.content[0].text == "Hello from mock iFlow."
    assert last_body(servers)["model"] == "glm-4.7"
    opus = claude.messages.create(model="claude-opus-4-1", max_tokens=10, messages=ask("hi"))
    assert opus.content[0].text == "answer 0"


def test_beta_query_and_version_headers_are_accepted(servers):
    body = json.dumps({"model": "glm-4.7", "max_tokens": 10, "messages": ask("hi")}).encode()
    request = urllib.request.Request(
        servers.gateway_url + "/v1/messages?beta=true", data=body,
        headers={"content-type": "application/json", "anthropic-version": "2023-06-01",
                 "anthropic-beta": "made-up-beta-2030"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert json.load(r)["type"] == "message"
        assert r.headers["request-id"] == r.headers["x-request-id"]


def test_client_keys_from_either_header(servers):
    proc, url = start_gateway({"IFLOW_API_KEY": MOCK_KEY, "IFLOW_BASE_URL": servers.mock_url + "/v1",
                               "API_KEY": "sk-client-1"})
    try:
        for client in (anthropic.Anthropic(base_url=url, api_key="sk-client-1", max_retries=0),
                       anthropic.Anthropic(base_url=url, auth_token="sk-client-1", max_retries=0)):
            assert client.messages.create(model="glm-4.7", max_tokens=5, messages=ask("hi")).type == "message"
        with pytest.raises(anthropic.AuthenticationError) as caught:
            anthropic.Anthropic(base_url=url, api_key="wrong", max_retries=0).messages.create(
                model="glm-4.7", max_tokens=5, messages=ask("hi"))
        assert caught.value.body["error"]["type"] == "authentication_error"
    finally:
        proc.terminate()
        proc.wait(timeout=10)

"""The OpenAI Responses dialect (docs/protocols/openai-responses.md), checked with the official
`openai` SDK's `client.responses` and the OpenAI Agents SDK's default model over iFlow, Flowith
and a generic upstream (all mocks)."""
import asyncio
import json
import urllib.request

import openai
import pytest

from conftest import MOCK_KEY, start_gateway, stop

TEXTS = [
    ("iflow/glm-4.7", "Hello from mock iFlow."),
    ("flowith/gpt-4.1", "Hello from Flowith"),
    ("generic/gen-small", "answer 0"),
]
STREAM_TEXTS = [
    ("iflow/glm-4.7", "Hello from mock"),
    ("flowith/gpt-4.1", "Hello from Flowith"),
    ("generic/gen-small", "generic"),
]
WEATHER = [{"type": "function", "name": "get_weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def last_body(servers):
    return servers.mock_stats()["last_body"]


@pytest.mark.parametrize("model,text", TEXTS)
def test_plain_response_over_every_provider(client, model, text):
    r = client.responses.create(model=model, input="hi")
    assert r.id.startswith("resp_") and r.object == "response" and r.status == "completed"
    assert r.model == model
    assert r.output_text.startswith(text)
    assert r.output[-1].type == "message" and r.output[-1].role == "assistant"
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens


@pytest.mark.parametrize("model,text", STREAM_TEXTS)
def test_streamed_response_over_every_provider(client, model, text):
    with client.responses.stream(model=model, input="hi") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), "increasing sequence numbers"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas.startswith(text) and final.output_text == deltas
    assert final.status == "completed" and final.usage.output_tokens > 0


def test_reasoning_is_a_reasoning_item_before_the_message(client):
    r = client.responses.create(model="glm-4.7", input="scenario:reasoning", reasoning={"effort": "high"})
    assert [item.type for item in r.output] == ["reasoning", "message"]
    assert r.output[0].summary[0].text == "Let me think." and r.output_text == "42"
    with client.responses.stream(model="glm-4.7", input="scenario:reasoning") as stream:
        kinds = [e.type for e in stream]
    assert "response.reasoning_summary_text.delta" in kinds and "response.reasoning_summary_text.done" in kinds
    assert kinds.index("response.reasoning_summary_text.done") < kinds.index("response.output_text.delta")


def test_a_function_call_round_trip(client, servers):
    r = client.responses.create(model="glm-4.7", input="scenario:tool", tools=WEATHER)
    [call] = r.output
    assert call.type == "function_call" and call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    follow = client.responses.create(
        model="glm-4.7", previous_response_id=r.id, tools=WEATHER,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert follow.output_text == "Hello from mock iFlow."
    sent = last_body(servers)["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == call.call_id and sent[2] == {
        "role": "tool", "tool_call_id": call.call_id, "content": "sunny"}
    # The same, with the whole history sent back instead of previous_response_id.
    again = client.responses.create(
        model="glm-4.7", tools=WEATHER, store=False,
        input=[{"role": "user", "content": "scenario:tool"}, call.model_dump(exclude_none=True),
               {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert again.output_text == "Hello from mock iFlow."


def test_streamed_function_call_arguments(client):
    with client.responses.stream(model="glm-4.7", input="scenario:tool", tools=WEATHER) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds
    [call] = final.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Paris"}


def test_request_fields_reach_the_upstream(client, servers):
    client.responses.create(
        model="glm-4.7", input="hi", instructions="Be brief.", max_output_tokens=77, temperature=0.2,
        top_p=0.9, user="u-7", text={"format": {"type": "json_object"}})
    body = last_body(servers)
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["max_tokens"] == 77 and body["temperature"] == 0.2 and body["top_p"] == 0.9 and body["user"] == "u-7"
    assert body["response_format"] == {"type": "json_object"}


def test_built_in_tools_are_refused_naming_the_tool(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="glm-4.7", input="hi", tools=[{"type": "web_search"}])
    assert "web_search" in raised.value.message and raised.value.body["param"] == "tools.0"


def test_a_mid_stream_failure_ends_in_response_failed(client):
    events = list(client.responses.create(model="glm-4.7", input="scenario:midstream-error", stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and "response.output_text.delta" in kinds
    assert kinds[-1] == "response.failed" and "response.completed" not in kinds
    assert events[-1].response.status == "failed" and events[-1].response.error.code


def test_stored_responses_survive_a_restart_and_belong_to_their_key(servers):
    config = """server:
  api_keys:
    - {name: alice, key: sk-alice-key}
    - {name: bob, key: sk-bob-key}
"""
    env = {"IFLOW_API_KEY": MOCK_KEY, "IFLOW_BASE_URL": servers.mock_url + "/v1"}
    proc, url = start_gateway(env, config=config)
    home = proc.home
    try:
        alice = openai.OpenAI(base_url=url + "/v1", api_key="sk-alice-key", max_retries=0)
        first = alice.responses.create(model="glm-4.7", input="My name is Ada.")
    finally:
        stop(proc)
    proc, url = start_gateway({**env, "HOME": home}, config=config)
    try:
        alice = openai.OpenAI(base_url=url + "/v1", api_key="sk-alice-key", max_retries=0)
        bob = openai.OpenAI(base_url=url + "/v1", api_key="sk-bob-key", max_retries=0)
        assert alice.responses.retrieve(first.id).output_text == first.output_text, "kept across a restart"
        follow = alice.responses.create(model="glm-4.7", input="What is my name?", previous_response_id=first.id)
        assert follow.previous_response_id == first.id
        sent = [m["content"] for m in last_body(servers)["messages"]]
        assert sent == ["My name is Ada.", "Hello from mock iFlow.", "What is my name?"]
        with pytest.raises(openai.NotFoundError):
            bob.responses.retrieve(first.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.create(model="glm-4.7", input="hi", previous_response_id=first.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.delete(first.id)
        alice.responses.delete(first.id)
        with pytest.raises(openai.NotFoundError):
            alice.responses.retrieve(first.id)
    finally:
        stop(proc)


def test_the_agents_sdk_default_model_runs_a_tool_and_streams(servers):
    import agents
    agents.set_tracing_disabled(True)
    client = openai.AsyncOpenAI(base_url=servers.gateway_url + "/v1", api_key="unused", max_retries=0)
    agents.set_default_openai_client(client, use_for_tracing=False)
    agents.set_default_openai_api("responses")
    asked = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Weather of a city."""
        asked.append(city)
        return "sunny"

    agent = agents.Agent(name="weather", instructions="Answer briefly.", model="glm-4.7", tools=[get_weather])

    async def both():
        # One event loop for both runs: the client's connections belong to it.
        result = await agents.Runner.run(agent, "scenario:tool")
        sent = last_body(servers)["messages"]
        run = agents.Runner.run_streamed(agent, "hi")
        kinds = [event.type async for event in run.stream_events()]
        return result.final_output, sent, run.final_output, kinds

    final, sent, streamed_final, kinds = asyncio.run(both())
    assert asked == ["Paris"], "the tool ran with the model's arguments"
    assert final == "Hello from mock iFlow."
    assert sent[-1]["role"] == "tool" and sent[-1]["content"] == "sunny"
    assert streamed_final == "Hello from mock" and "raw_response_event" in kinds

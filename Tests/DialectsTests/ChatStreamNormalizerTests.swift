import Foundation
import NIOCore
import Testing

@testable import ChatCore
@testable import Dialects
@testable import OpenAIWire

/// Parses what the normaliser wrote back into events, as a client would.
func clientEvents(_ buffer: ByteBuffer) -> [JSON?] {
    var parser = SSEParser()
    return ((try! parser.feed(buffer)) + parser.finish()).map { event in
        event.text == "[DONE]" ? nil : try? JSONCoding.decode(Data(event.data))
    }
}

func chunk(_ delta: JSONObject, finish: String? = nil, usage: JSON? = nil, id: String = "up-1", index: Int64 = 0)
    -> JSONObject
{
    var object: JSONObject = [
        "id": .string(id), "object": "chat.completion.chunk", "created": 111, "model": "glm-4.6-exp",
        "choices": [["index": .int(index), "delta": .object(delta), "finish_reason": finish.map(JSON.string) ?? nil]],
    ]
    if let usage { object["usage"] = usage }
    return object
}

@Suite struct ChatStreamNormalizerTests {
    let usage: JSON = ["prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5]

    func run(_ chunks: [JSONObject], includeUsage: Bool = false, reasoning: ReasoningOutput = .passthrough)
        throws -> [JSON?]
    {
        var normalizer = ChatStreamNormalizer(
            model: "iflow/glm-4.6", includeUsage: includeUsage, reasoning: reasoning, created: 5)
        var out = ByteBuffer()
        for c in chunks { normalizer.accept(c, into: &out) }
        try normalizer.finish(complete: true, into: &out)
        return clientEvents(out)
    }

    @Test func framingRoleFirstOneIdFinishOnlyLastDoneAtEnd() throws {
        let events = try run([
            chunk(["content": "He"], id: "a"), chunk(["content": "llo"], id: "b"),
            chunk([:], finish: "stop", id: "c"),
        ])
        #expect(events.last! == nil, "ends with [DONE]")
        let chunks = events.compactMap { $0 }
        #expect(chunks.count == 3)
        #expect(Set(chunks.map { $0["id"]?.stringValue ?? "" }).count == 1)
        #expect(chunks.allSatisfy { $0["model"] == "iflow/glm-4.6" && $0["created"] == 111 })
        #expect(chunks.allSatisfy { $0["object"] == "chat.completion.chunk" && $0["usage"] == nil })
        #expect(chunks[0]["choices"]?.arrayValue?[0]["delta"]?["role"] == "assistant")
        #expect(chunks[1]["choices"]?.arrayValue?[0]["delta"]?["role"] == nil)
        #expect(chunks.dropLast().allSatisfy { $0["choices"]?.arrayValue?[0]["finish_reason"] == .null })
        #expect(chunks.last?["choices"]?.arrayValue?[0]["finish_reason"] == "stop")
    }

    @Test func usageOnlyInOneFinalChunkWhenAsked() throws {
        let input = [chunk(["content": "x"]), chunk([:], finish: "stop", usage: usage)]
        let asked = try run(input, includeUsage: true).compactMap { $0 }
        #expect(asked.dropLast().allSatisfy { $0["usage"] == .null })
        #expect(asked.last?["choices"] == [])
        #expect(asked.last?["usage"] == usage)

        let notAsked = try run(input).compactMap { $0 }
        #expect(notAsked.allSatisfy { $0["usage"] == nil })
        #expect(notAsked.allSatisfy { !($0["choices"]?.arrayValue?.isEmpty ?? true) })
    }

    @Test func repeatedFinishedChoiceIsDropped() throws {
        let events = try run([chunk(["content": "x"], finish: "stop"), chunk([:], finish: "stop", usage: usage)])
        #expect(events.compactMap { $0 }.count == 1)
    }

    @Test func missingFinishReasonIsAddedWhenUpstreamEndsProperly() throws {
        let chunks = try run([chunk(["content": "x"])]).compactMap { $0 }
        #expect(chunks.last?["choices"]?.arrayValue?[0]["finish_reason"] == "stop")
    }

    @Test func cutStreamIsAnErrorNotATruncation() {
        var normalizer = ChatStreamNormalizer(model: "m", includeUsage: false, reasoning: .passthrough, created: 1)
        var out = ByteBuffer()
        normalizer.accept(chunk(["content": "x"]), into: &out)
        #expect(throws: GatewayError.self) { try normalizer.finish(complete: false, into: &out) }
    }

    @Test func zeroChunksIsAnEmptyResponseError() {
        var normalizer = ChatStreamNormalizer(model: "m", includeUsage: true, reasoning: .passthrough, created: 1)
        var out = ByteBuffer()
        normalizer.accept(["choices": [], "usage": usage], into: &out)
        do {
            try normalizer.finish(complete: true, into: &out)
            Issue.record("expected an error")
        } catch {
            #expect(error.status == 502)
            #expect(error.code == "empty_response")
        }
    }

    @Test func toolCallDeltasGetIndexAndType() throws {
        let events = try run([
            chunk(["tool_calls": [["id": "call_a", "function": ["name": "f", "arguments": ""]]]]),
            chunk(["tool_calls": [["function": ["arguments": "{}"]]]]),
            chunk(["tool_calls": [["id": "call_b", "function": ["name": "g", "arguments": "{}"]]]]),
            chunk([:], finish: "tool_calls"),
        ]).compactMap { $0 }
        let calls = events.compactMap { $0["choices"]?.arrayValue?[0]["delta"]?["tool_calls"]?.arrayValue?[0] }
        #expect(calls.map { $0["index"] } == [0, 0, 1])
        #expect(calls[0]["type"] == "function")
        #expect(calls[1]["type"] == nil)
    }

    @Test func reasoningInlineWrapsInThinkTags() throws {
        let events = try run(
            [
                chunk(["reasoning_content": "a"]), chunk(["reasoning_content": "b"]), chunk(["content": "X"]),
                chunk([:], finish: "stop"),
            ],
            reasoning: .inline)
        let text = events.compactMap { $0?["choices"]?.arrayValue?[0]["delta"]?["content"]?.stringValue }.joined()
        #expect(text == "<think>ab</think>X")
        #expect(events.allSatisfy { $0?["choices"]?.arrayValue?[0]["delta"]?["reasoning_content"] == nil })
    }

    @Test func reasoningInlineClosesTagAtFinish() throws {
        let events = try run([chunk(["reasoning_content": "a"], finish: "length")], reasoning: .inline)
        let text = events.compactMap { $0?["choices"]?.arrayValue?[0]["delta"]?["content"]?.stringValue }.joined()
        #expect(text == "<think>a</think>")
    }

    @Test func reasoningDropRemovesItAndEmptyChunks() throws {
        let events = try run(
            [chunk(["content": ""]), chunk(["reasoning_content": "a"]), chunk(["content": "X"], finish: "stop")],
            reasoning: .drop
        ).compactMap { $0 }
        #expect(events.count == 2)
        #expect(events.allSatisfy { $0["choices"]?.arrayValue?[0]["delta"]?["reasoning_content"] == nil })
    }

    @Test func reasoningPassesThroughByDefault() throws {
        let events = try run([chunk(["reasoning_content": "a"]), chunk(["content": "X"], finish: "stop")]).compactMap {
            $0
        }
        #expect(events[0]["choices"]?.arrayValue?[0]["delta"]?["reasoning_content"] == "a")
    }

    @Test func errorEventThenDone() {
        var out = ByteBuffer()
        ChatStreamNormalizer(model: "m", includeUsage: false, reasoning: .passthrough, created: 0).writeError(.upstreamFailed("boom"), into: &out)
        let events = clientEvents(out)
        #expect(events.count == 2)
        #expect(events[0]?["error"]?["message"] == "boom")
        #expect(events[1] == nil)
    }
}

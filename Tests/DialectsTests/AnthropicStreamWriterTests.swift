import ChatCore
import Foundation
import NIOCore
import OpenAIWire
import Testing

@testable import Dialects

/// The events a client parses from the bytes: (event name, data).
func anthropicEvents(_ buffer: ByteBuffer) throws -> [(String, JSON)] {
    var parser = SSEParser()
    return try (parser.feed(buffer) + parser.finish()).map { ($0.event ?? "", try JSONCoding.decode($0.data)) }
}

/// Checks the Messages streaming grammar (docs/protocols/anthropic-messages.md): one
/// message_start first, dense block indices, one block open at a time, deltas only to the
/// open block, a thinking block's signature before it stops, message_delta + message_stop last.
func checkGrammar(_ events: [(String, JSON)]) {
    #expect(events.first?.0 == "message_start")
    #expect(events.filter { $0.0 == "message_start" }.count == 1)
    #expect(events.suffix(2).map(\.0) == ["message_delta", "message_stop"])
    var open: (index: Int64, type: String)?
    var count: Int64 = 0
    var signed = false
    for (name, data) in events {
        switch name {
        case "content_block_start":
            #expect(open == nil, "a block opened while another was open")
            #expect(data["index"]?.intValue == count)
            open = (count, data["content_block"]?["type"]?.stringValue ?? "")
            count += 1
            signed = false
        case "content_block_delta":
            #expect(data["index"]?.intValue == open?.index)
            if data["delta"]?["type"]?.stringValue == "signature_delta" { signed = true }
        case "content_block_stop":
            #expect(data["index"]?.intValue == open?.index)
            if open?.type == "thinking" { #expect(signed, "thinking stopped without its signature") }
            open = nil
        default:
            break
        }
    }
    #expect(open == nil)
}

@Suite struct AnthropicStreamWriterTests {
    func run(_ events: [ChatEvent], stops: [String] = []) throws -> [(String, JSON)] {
        var writer = AnthropicStreamWriter(messageID: "msg_1", model: "claude-x", inputTokens: 12, stopSequences: stops)
        var out = ByteBuffer()
        for event in events { writer.accept(event, into: &out) }
        writer.finish(into: &out)
        let parsed = try anthropicEvents(out)
        checkGrammar(parsed)
        return parsed
    }

    func blocks(_ events: [(String, JSON)]) -> [JSON] {
        events.filter { $0.0 == "content_block_start" }.compactMap { $0.1["content_block"] }
    }

    /// The concatenated `partial_json` of each block index.
    func arguments(_ events: [(String, JSON)]) -> [Int64: String] {
        var result: [Int64: String] = [:]
        for (name, data) in events where name == "content_block_delta" {
            if let piece = data["delta"]?["partial_json"]?.stringValue { result[data["index"]!.intValue!, default: ""] += piece }
        }
        return result
    }

    func messageDelta(_ events: [(String, JSON)]) -> JSON { events.first { $0.0 == "message_delta" }!.1 }

    @Test func plainTextStreamsInOneBlock() throws {
        let events = try run([.text("Hel"), .text("lo"), .finish(.stop, matchedStop: nil), .usage(.init(input: 5, output: 2))])
        #expect(events.map(\.0) == [
            "message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop",
        ])
        #expect(events[0].1["message"]?["usage"]?["input_tokens"]?.intValue == 12)
        #expect(messageDelta(events)["delta"]?["stop_reason"]?.stringValue == "end_turn")
        #expect(messageDelta(events)["usage"]?["output_tokens"]?.intValue == 2)
        #expect(messageDelta(events)["usage"]?["input_tokens"]?.intValue == 5)
    }

    @Test func endsProperlyWithoutFinishOrUsage() throws {
        let events = try run([.text("Hello there")])
        let delta = messageDelta(events)
        #expect(delta["delta"]?["stop_reason"]?.stringValue == "end_turn")
        // The estimate, never zero: 11 characters over 4, rounded up.
        #expect(delta["usage"]?["output_tokens"]?.intValue == 3)
        #expect(delta["usage"]?["input_tokens"]?.intValue == 12)
    }

    @Test func anEmptyAnswerStillStartsAndStops() throws {
        let events = try run([.finish(.stop, matchedStop: nil)])
        #expect(events.map(\.0) == ["message_start", "message_delta", "message_stop"])
    }

    @Test func textThenToolCallKeepsEveryArgument() throws {
        let events = try run([
            .text("Let me look."), .toolCall(index: 0, id: "call_1", name: "get_weather"),
            .toolArguments(index: 0, "{\"city\":"), .toolArguments(index: 0, "\"Paris\"}"), .finish(.toolCalls, matchedStop: nil),
        ])
        let started = blocks(events)
        #expect(started.map { $0["type"]?.stringValue } == ["text", "tool_use"])
        #expect(started[1]["id"]?.stringValue == "toolu_call_1")
        #expect(started[1]["name"]?.stringValue == "get_weather")
        #expect(arguments(events)[1] == "{\"city\":\"Paris\"}")
        #expect(messageDelta(events)["delta"]?["stop_reason"]?.stringValue == "tool_use")
    }

    @Test func aToolNameArrivingLateStillGetsItsEarlierArguments() throws {
        let events = try run([
            .toolArguments(index: 0, "{\"q\":"), .toolCall(index: 0, id: nil, name: nil),
            .toolArguments(index: 0, "1"), .toolCall(index: 0, id: "call_9", name: "search"), .toolArguments(index: 0, "}"),
        ])
        let started = blocks(events)
        #expect(started.count == 1)
        #expect(started[0]["name"]?.stringValue == "search")
        #expect(arguments(events)[0] == "{\"q\":1}")
    }

    @Test func aToolCallWithoutIdGetsOne() throws {
        let events = try run([.toolCall(index: 0, id: nil, name: "f"), .toolArguments(index: 0, "{}")])
        let id = blocks(events)[0]["id"]?.stringValue ?? ""
        #expect(id.hasPrefix("toolu_") && id.count > 10)
    }

    @Test func interleavedToolCallsAreEachWhole() throws {
        let events = try run([
            .toolCall(index: 0, id: "a", name: "first"), .toolArguments(index: 0, "{\"x\":"),
            .toolCall(index: 1, id: "b", name: "second"), .toolArguments(index: 1, "{\"y\":2}"),
            .toolArguments(index: 0, "1}"), .finish(.toolCalls, matchedStop: nil),
        ])
        let started = blocks(events)
        #expect(started.map { $0["name"]?.stringValue } == ["first", "second"])
        #expect(arguments(events) == [0: "{\"x\":1}", 1: "{\"y\":2}"])
    }

    @Test func sequentialToolCallsStreamAsTheyArrive() throws {
        var writer = AnthropicStreamWriter(messageID: "m", model: "x", inputTokens: 1, stopSequences: [])
        var out = ByteBuffer()
        for event: ChatEvent in [
            .toolCall(index: 0, id: "a", name: "one"), .toolArguments(index: 0, "{}"),
            .toolCall(index: 1, id: "b", name: "two"), .toolArguments(index: 1, "{\"k\":"),
        ] {
            writer.accept(event, into: &out)
        }
        // Before the end: the second call is already open and its first piece sent.
        let soFar = try anthropicEvents(out)
        #expect(soFar.filter { $0.0 == "content_block_start" }.count == 2)
        #expect(arguments(soFar)[1] == "{\"k\":")
    }

    @Test func reasoningAfterTextOpensASignedThinkingBlock() throws {
        let events = try run([.reasoning("hmm"), .text("A"), .reasoning("more"), .text("B")])
        #expect(blocks(events).map { $0["type"]?.stringValue } == ["thinking", "text", "thinking", "text"])
        let signatures = events.compactMap { $0.1["delta"]?["signature"]?.stringValue }
        #expect(signatures.count == 2)
        #expect(signatures[0] == ThinkingSignature.of("hmm"))
        #expect(!events.contains { $0.1["delta"]?["text"]?.stringValue?.contains("hmm") == true })
    }

    @Test func stopReasons() throws {
        func reason(_ events: [ChatEvent], stops: [String] = []) throws -> (String?, JSON?) {
            let delta = messageDelta(try run(events, stops: stops))["delta"]
            return (delta?["stop_reason"]?.stringValue, delta?["stop_sequence"])
        }
        #expect(try reason([.text("a"), .finish(.length, matchedStop: nil)]).0 == "max_tokens")
        #expect(try reason([.text("a"), .finish(.contentFilter, matchedStop: nil)]).0 == "refusal")
        // tool_calls without any tool block sent is a plain end.
        #expect(try reason([.text("a"), .finish(.toolCalls, matchedStop: nil)]).0 == "end_turn")
        let stopped = try reason([.text("a"), .finish(.stop, matchedStop: "END")], stops: ["END"])
        #expect(stopped.0 == "stop_sequence" && stopped.1 == "END")
        #expect(try reason([.text("a"), .finish(.stop, matchedStop: "other")], stops: ["END"]).0 == "end_turn")
    }
}

@Suite struct AnthropicStreamEncoderTests {
    func request(stream: Bool = true) throws -> AnthropicRequest {
        try AnthropicRequest(json: [
            "model": "claude-sonnet-4-5", "max_tokens": 100, "stream": .bool(stream),
            "messages": [["role": "user", "content": "hi"]],
        ])
    }

    func chunk(_ delta: JSONObject, finish: String? = nil) -> JSONObject {
        ["choices": [["index": 0, "delta": .object(delta), "finish_reason": finish.map(JSON.string) ?? nil]]]
    }

    @Test func aRoleOnlyFirstChunkStartsTheMessageAtOnce() throws {
        var encoder = AnthropicStreamEncoder(request: try request())
        var out = ByteBuffer()
        encoder.accept(chunk(["role": "assistant", "reasoning_content": ""]), into: &out)
        #expect(encoder.hasOutput)
        #expect(try anthropicEvents(out).map(\.0) == ["message_start"])
    }

    @Test func aCutStreamIsAnErrorNotATruncation() throws {
        var encoder = AnthropicStreamEncoder(request: try request())
        var out = ByteBuffer()
        encoder.accept(chunk(["content": "Hel"]), into: &out)
        #expect(throws: GatewayError.self) { try encoder.finish(complete: false, into: &out) }
        var error = ByteBuffer()
        encoder.writeError(.upstreamFailed("cut"), into: &error)
        let events = try anthropicEvents(error)
        #expect(events.map(\.0) == ["error"])
        #expect(events[0].1["error"]?["type"]?.stringValue == "api_error")
    }

    @Test func aFinishWithoutDoneStillEndsTheMessage() throws {
        var encoder = AnthropicStreamEncoder(request: try request())
        var out = ByteBuffer()
        encoder.accept(chunk(["content": "Hi"], finish: "stop"), into: &out)
        try encoder.finish(complete: false, into: &out)
        #expect(try anthropicEvents(out).suffix(2).map(\.0) == ["message_delta", "message_stop"])
    }

    @Test func anEmptyStreamIsAnError() throws {
        var encoder = AnthropicStreamEncoder(request: try request())
        var out = ByteBuffer()
        #expect(throws: GatewayError.self) { try encoder.finish(complete: true, into: &out) }
    }

    @Test func droppedReasoningNeverShows() throws {
        var encoder = AnthropicStreamEncoder(request: try request(), dropReasoning: true)
        var out = ByteBuffer()
        encoder.accept(chunk(["reasoning_content": "secret plan"]), into: &out)
        encoder.accept(chunk(["content": "ok"], finish: "stop"), into: &out)
        try encoder.finish(complete: true, into: &out)
        #expect(!String(buffer: out).contains("secret plan"))
    }
}

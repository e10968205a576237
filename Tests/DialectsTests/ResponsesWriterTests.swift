import ChatCore
import Dialects
import NIOCore
import OpenAIWire
import Testing

/// The Responses streaming grammar over canonical event sequences as upstreams send them
/// (docs/protocols/openai-responses.md, "Streaming").
@Suite struct ResponsesWriterTests {
    static let context = ResponsesWriter.Context(id: "resp_test", model: "m", createdAt: 1, inputTokens: 7)

    /// Runs the events through a streaming writer; the events written, as (name, data).
    func stream(_ events: [ChatEvent], finish: Bool = true, failure: GatewayError? = nil) throws -> (
        [(String, JSON)], ResponsesWriter
    ) {
        var writer = ResponsesWriter(context: Self.context, streaming: true)
        var out = ByteBuffer()
        for event in events { writer.accept(event, into: &out) }
        if finish { writer.finish(into: &out) }
        if let failure { writer.failed(failure, into: &out) }
        var parser = SSEParser()
        let parsed = try (parser.feed(out) + parser.finish()).map { ($0.event ?? "", try JSONCoding.decode($0.data)) }
        return (parsed, writer)
    }

    /// Every event names its type twice and numbers itself in order; one item is open at a time.
    func checkGrammar(_ events: [(String, JSON)]) {
        #expect(events.prefix(2).map(\.0) == ["response.created", "response.in_progress"])
        var open: Int64?
        for (position, (name, data)) in events.enumerated() {
            #expect(data["type"]?.stringValue == name)
            #expect(data["sequence_number"]?.intValue == Int64(position))
            switch name {
            case "response.output_item.added":
                #expect(open == nil, "one item open at a time")
                open = data["output_index"]?.intValue
            case "response.output_item.done":
                #expect(open == data["output_index"]?.intValue)
                open = nil
            case _ where name.hasSuffix(".delta"):
                #expect(open == data["output_index"]?.intValue, "deltas only to the open item")
            default: break
            }
        }
        #expect(open == nil)
    }

    @Test func reasoningThenText() throws {
        let (events, writer) = try stream([
            .reasoning("Let me"), .reasoning(" think."), .text("4"), .text("2"), .finish(.stop, matchedStop: nil),
            .usage(TokenUsage(input: 5, output: 4, reasoning: 2)),
        ])
        checkGrammar(events)
        #expect(
            events.map(\.0) == [
                "response.created", "response.in_progress", "response.output_item.added",
                "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done", "response.output_item.done", "response.output_item.added",
                "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.completed",
            ])
        let response = try #require(events.last?.1["response"])
        #expect(response["status"] == "completed")
        #expect(response["output"]?.arrayValue?.map { $0["type"]?.stringValue } == ["reasoning", "message"])
        #expect(response["usage"]?["output_tokens_details"]?["reasoning_tokens"] == 2)
        #expect(response == writer.finalResponse)
    }

    @Test func interleavedToolCallsKeepEveryArgument() throws {
        // Two calls whose argument pieces alternate: the second opens only once the first is whole.
        let (events, writer) = try stream([
            .toolCall(index: 0, id: "call_a", name: "first"), .toolArguments(index: 0, "{\"x\":"),
            .toolCall(index: 1, id: "call_b", name: "second"), .toolArguments(index: 1, "{\"y\":"),
            .toolArguments(index: 0, "1}"), .toolArguments(index: 1, "2}"), .finish(.toolCalls, matchedStop: nil),
        ])
        checkGrammar(events)
        let output = try #require(writer.finalResponse["output"]?.arrayValue)
        #expect(output.map { $0["call_id"]?.stringValue } == ["call_a", "call_b"])
        #expect(output.map { $0["arguments"]?.stringValue } == ["{\"x\":1}", "{\"y\":2}"])
        let done = events.filter { $0.0 == "response.function_call_arguments.done" }.map { $0.1["arguments"]?.stringValue }
        #expect(done == ["{\"x\":1}", "{\"y\":2}"])
    }

    @Test func missingUsageIsEstimatedAndATokenLimitIsIncomplete() throws {
        let (events, writer) = try stream([.text("abcdefgh"), .finish(.length, matchedStop: nil)])
        checkGrammar(events)
        #expect(events.last?.0 == "response.incomplete")
        #expect(writer.usageIsEstimated)
        let response = writer.finalResponse
        #expect(response["status"] == "incomplete" && response["incomplete_details"]?["reason"] == "max_output_tokens")
        #expect(response["usage"]?["input_tokens"] == 7 && response["usage"]?["output_tokens"] == 2)
    }

    @Test func anErrorAfterOutputEndsInResponseFailed() throws {
        let (events, _) = try stream([.text("Hel")], finish: false, failure: .upstreamFailed("cut", code: "upstream_error"))
        #expect(events.last?.0 == "response.failed")
        let response = try #require(events.last?.1["response"])
        #expect(response["status"] == "failed" && response["error"]?["code"] == "upstream_error")
        #expect(events.last?.1["sequence_number"]?.intValue == Int64(events.count - 1))
        #expect(!events.contains { $0.0 == "response.completed" })
    }

    @Test func withoutAStreamNothingIsWritten() {
        var writer = ResponsesWriter(context: Self.context, streaming: false)
        var out = ByteBuffer()
        writer.accept(.text("hi"), into: &out)
        writer.finish(into: &out)
        #expect(out.readableBytes == 0)
        #expect(writer.finalResponse["output"]?.arrayValue?.first?["content"]?.arrayValue?.first?["text"] == "hi")
    }
}

import ChatCore
import NIOCore
import OpenAIWire

/// The Responses dialect's side of the stream relay: the provider's chunks, read as canonical
/// events, written in the Responses streaming grammar (docs/protocols/openai-responses.md, "Streaming").
package struct ResponsesStreamEncoder: ChatStreamEncoder {
    private var reader = OpenAIChunkEvents()
    package private(set) var writer: ResponsesWriter
    private var events: [ChatEvent] = []
    private var finished = false
    /// The operator chose to show no reasoning (`reasoning: drop`).
    private let dropReasoning: Bool

    package init(context: ResponsesWriter.Context, dropReasoning: Bool = false) {
        self.dropReasoning = dropReasoning
        writer = ResponsesWriter(context: context, streaming: true)
    }

    package var hasOutput: Bool { writer.hasStarted }
    package var reportedUsage: JSONObject { writer.finalUsage.openAIFields }
    package var usageIsEstimated: Bool { writer.usageIsEstimated }

    package mutating func accept(_ chunk: JSONObject, into out: inout ByteBuffer) {
        events.removeAll(keepingCapacity: true)
        reader.read(chunk, into: &events)
        write(events, into: &out)
    }

    package mutating func accept(events: [ChatEvent], into out: inout ByteBuffer) {
        write(events, into: &out)
    }

    private mutating func write(_ events: [ChatEvent], into out: inout ByteBuffer) {
        writer.start(into: &out)
        for event in events {
            switch event {
            case .finish: finished = true
            case .reasoning where dropReasoning: continue
            default: break
            }
            writer.accept(event, into: &out)
        }
    }

    package mutating func finish(complete: Bool, into out: inout ByteBuffer) throws(GatewayError) {
        guard writer.hasStarted else {
            throw .upstreamFailed(
                "Empty upstream response (the stream ended with no chunks); the context may be too long.",
                code: "empty_response")
        }
        guard complete || finished else {
            throw .upstreamFailed(
                "The upstream stream ended unexpectedly before the answer was complete.",
                code: "upstream_stream_interrupted")
        }
        writer.finish(into: &out)
    }

    package func writeError(_ error: GatewayError, into out: inout ByteBuffer) {
        writer.failed(error, into: &out)
    }

    /// An SSE comment: the grammar has no keep-alive event, and every client skips comments.
    package static var keepAlive: ByteBuffer { ByteBuffer(string: ": keep-alive\n\n") }
}

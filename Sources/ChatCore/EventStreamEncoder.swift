import NIOCore
import OpenAIWire

/// A dialect's pure writer of canonical events (the Messages and Responses grammars): it starts
/// the answer, takes events, and ends it properly or with an error event.
package protocol ChatEventWriter: Sendable {
    /// Something was written already: from now on a failure is an in-stream error event.
    var hasStarted: Bool { get }
    /// The upstream's figures, else the local estimate.
    var finalUsage: TokenUsage { get }
    var usageIsEstimated: Bool { get }
    mutating func start(into out: inout ByteBuffer)
    mutating func accept(_ event: ChatEvent, into out: inout ByteBuffer)
    /// The upstream ended properly: close what is open and write the end.
    mutating func finish(into out: inout ByteBuffer)
    func writeError(_ error: GatewayError, into out: inout ByteBuffer)
    static var keepAlive: ByteBuffer { get }
}

/// The stream relay's side of a dialect with a `ChatEventWriter` (docs/architecture.md, "The
/// walk of one request"): the provider's OpenAI-shaped chunks read as canonical events, the answer
/// started by the first chunk (even one with only a role), reasoning dropped when the operator
/// chose `reasoning: drop`, and a stream that was empty or cut ended as an error, never a
/// silent truncation.
package struct EventStreamEncoder<Writer: ChatEventWriter>: ChatStreamEncoder {
    private var reader = OpenAIChunkEvents()
    package private(set) var writer: Writer
    private var events: [ChatEvent] = []
    private var finished = false
    private let dropReasoning: Bool

    package init(writer: Writer, dropReasoning: Bool = false) {
        self.writer = writer
        self.dropReasoning = dropReasoning
    }

    package var hasOutput: Bool { writer.hasStarted }
    package var reportedUsage: JSONObject { writer.finalUsage.openAIFields }
    package var usageIsEstimated: Bool { writer.usageIsEstimated }

    package mutating func accept(_ chunk: JSONObject, into out: inout ByteBuffer) {
        events.removeAll(keepingCapacity: true)
        reader.read(chunk, into: &events)
        write(events, into: &out)
    }

    /// What `OpenAIChunkEvents` reads from such a chunk, without parsing it.
    package mutating func accept(_ delta: TextDeltaChunk, into out: inout ByteBuffer) {
        events.removeAll(keepingCapacity: true)
        if let thought = delta.string(delta.reasoning), !thought.isEmpty { events.append(.reasoning(thought)) }
        if let text = delta.string(delta.content), !text.isEmpty { events.append(.text(text)) }
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
        writer.writeError(error, into: &out)
    }

    package static var keepAlive: ByteBuffer { Writer.keepAlive }
}

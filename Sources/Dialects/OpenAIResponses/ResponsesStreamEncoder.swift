import ChatCore
import NIOCore
import OpenAIWire

/// The Responses dialect's side of the stream relay: the provider's chunks, read as canonical
/// events, written in the Responses streaming grammar (docs/protocols/openai-responses.md, "Streaming").
package typealias ResponsesStreamEncoder = EventStreamEncoder<ResponsesWriter>

extension EventStreamEncoder where Writer == ResponsesWriter {
    package init(context: ResponsesWriter.Context, dropReasoning: Bool = false) {
        self.init(writer: ResponsesWriter(context: context, streaming: true), dropReasoning: dropReasoning)
    }
}

extension ResponsesWriter: ChatEventWriter {
    package func writeError(_ error: GatewayError, into out: inout ByteBuffer) {
        failed(error, into: &out)
    }

    /// An SSE comment: the grammar has no keep-alive event, and every client skips comments.
    package static var keepAlive: ByteBuffer { ByteBuffer(string: ": keep-alive\n\n") }
}

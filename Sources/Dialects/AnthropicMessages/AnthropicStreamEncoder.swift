import ChatCore
import NIOCore
import OpenAIWire

/// The Messages dialect's side of the stream relay: the provider's chunks, read as
/// canonical events, written in the Messages grammar.
package typealias AnthropicStreamEncoder = EventStreamEncoder<AnthropicStreamWriter>

extension EventStreamEncoder where Writer == AnthropicStreamWriter {
    package init(request: AnthropicRequest, dropReasoning: Bool = false) {
        self.init(
            writer: AnthropicStreamWriter(
                messageID: MessageID.make(prefix: "msg_"), model: request.model, inputTokens: request.inputTokens,
                stopSequences: request.stopSequences),
            dropReasoning: dropReasoning)
    }
}

extension AnthropicStreamWriter: ChatEventWriter {
    package func writeError(_ error: GatewayError, into out: inout ByteBuffer) {
        AnthropicError.writeEvent(error, into: &out)
    }

    package static var keepAlive: ByteBuffer { AnthropicSSE.ping }
}

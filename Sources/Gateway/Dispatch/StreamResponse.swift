import ChatCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OpenAIWire
import Providers

/// Turns a provider's stream into the HTTP answer, the same for every dialect: it waits for
/// the first event, so a failure before any output is still a plain HTTP error in the
/// caller's dialect (docs/architecture.md, "The walk of one request"); after that a failure
/// is the dialect's in-stream error event.
struct StreamResponse {
    let keepAlive: Duration?
    let openStreams: OpenStreams
    let scrubber: SecretScrubber

    static let headers: HTTPFields = [
        .contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no",
    ]

    /// `finished` gets the encoder as the stream left it, once the client has the whole answer
    /// (the Responses dialect stores it).
    func respond<Encoder: ChatStreamEncoder>(
        _ chunks: ChunkStream, encoder: Encoder, provider: String, logger: Logger,
        finished: (@Sendable (Encoder) async -> Void)? = nil, onEnd: @escaping @Sendable () -> Void
    ) async throws -> Response {
        let relay = StreamRelay(
            chunks: chunks, encoder: encoder, keepAlive: keepAlive, providerName: provider, onEnd: onEnd)
        var events = relay.events.makeAsyncIterator()
        let first: StreamRelayEvent?
        do {
            first = try await events.next()
        } catch {
            relay.cancel()
            throw error
        }
        let handoff = IteratorHandoff(iterator: events)
        let (openStreams, scrubber) = (self.openStreams, self.scrubber)
        let access = AccessRecord.current
        access?.deferUntilStreamEnds()
        return Response(
            status: .ok, headers: Self.headers,
            body: ResponseBody { writer in
                openStreams.opened(relay)
                defer {
                    openStreams.closed(relay)
                    relay.cancel()
                    let final = relay.finalEncoder
                    access?.usage(final.reportedUsage, estimated: final.usageIsEstimated)
                    access?.finish(status: 200)
                }
                var events = handoff.iterator
                var next = first
                // The first event goes out now: the client's time to first byte.
                access?.firstByte()
                do {
                    while let event = next {
                        switch event {
                        case .bytes(let buffer):
                            try await writer.write(buffer)
                            relay.delivered()
                        case .keepAlive: try await writer.write(Encoder.keepAlive)
                        }
                        next = try await events.next()
                    }
                } catch let error as GatewayError {
                    let shown = scrubber.scrub(error)
                    access?.error(code: shown.code ?? shown.type)
                    logger.warning("stream ended by \(shown.code ?? "error"): \(shown.message)")
                    var out = ByteBuffer()
                    relay.finalEncoder.writeError(shown, into: &out)
                    try await writer.write(out)
                }
                if let finished { await finished(relay.finalEncoder) }
                try await writer.finish(nil)
            })
    }
}

/// Hands the stream iterator from the handler to the response writer. The two never
/// run at the same time: the writer starts after the handler returned.
private struct IteratorHandoff: @unchecked Sendable {
    let iterator: AsyncThrowingStream<StreamRelayEvent, any Error>.AsyncIterator
}

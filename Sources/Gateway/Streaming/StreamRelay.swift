import ChatCore
import NIOCore
import NIOPosix
import OpenAIWire
import Providers
import Synchronization

/// Moves a provider's chunk stream to the client: a producer task reads the
/// upstream and has the dialect's encoder turn each network read into SSE bytes, a timer adds
/// `: keep-alive` while the upstream is silent (`KeepAliveTimer`). The handler waits for the first
/// event, so a failure before any output is still a real HTTP status. The producer
/// stays at most a few events ahead of the client (`RelayWindow`): a client that
/// stops reading stops the upstream read, instead of filling memory.
final class StreamRelay<Encoder: ChatStreamEncoder>: RelayedStream {
    let events: AsyncThrowingStream<StreamRelayEvent, any Error>
    private let producer: Task<Void, Never>
    private let timer: KeepAliveTimer?
    private let continuation: AsyncThrowingStream<StreamRelayEvent, any Error>.Continuation
    private let window: RelayWindow
    private let final: FinalEncoder<Encoder>

    /// Events the producer may run ahead of the client.
    static var windowSize: Int { 4 }

    /// `onEnd` runs once the upstream is no longer read (finished, failed or cancelled).
    init(
        chunks: ChunkStream, encoder: Encoder, keepAlive: Duration?, providerName: String,
        onEnd: @escaping @Sendable () -> Void
    ) {
        let (events, continuation) = AsyncThrowingStream<StreamRelayEvent, any Error>.makeStream()
        self.events = events
        self.continuation = continuation
        let window = RelayWindow(limit: Self.windowSize)
        self.window = window
        let final = FinalEncoder<Encoder>(encoder)
        self.final = final
        // The producer runs on the caller's event loop when it is on one (the connection's, where
        // the upstream's reads usually arrive too): handing a read to the writer then wakes no
        // other thread. On the global executor each read cost two wake-ups (docs/performance.md).
        let eventLoop = MultiThreadedEventLoopGroup.currentEventLoop
        let timer = keepAlive.map { interval in
            KeepAliveTimer(interval: interval, on: eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()) {
                if window.isDrained { continuation.yield(.keepAlive) }
            }
        }
        let producer = Task(executorPreference: eventLoop.map(EventLoopTaskExecutor.init)) {
            defer {
                timer?.cancel()
                onEnd()
            }
            var encoder = encoder
            var complete = false
            do {
                for try await batch in chunks {
                    var out = ByteBuffer()
                    for item in batch {
                        // docs/protocols/openai-chat.md: nothing after the end is forwarded.
                        guard !complete else { continue }
                        let first = !encoder.hasOutput
                        switch item {
                        case .done: complete = true
                        case .chunk(let chunk): encoder.accept(chunk, into: &out)
                        case .textDelta(let delta): encoder.accept(delta, into: &out)
                        case .events(let events): encoder.accept(events: events, into: &out)
                        }
                        // The first event goes out alone: a client sees the answer start at once
                        // even when the upstream's first read holds many events.
                        if first && out.readableBytes > 0 {
                            continuation.yield(.bytes(out))
                            await window.sent()
                            out = ByteBuffer()
                        }
                    }
                    if out.readableBytes > 0 {
                        timer?.activity()
                        continuation.yield(.bytes(out))
                        await window.sent()
                    }
                }
                var out = ByteBuffer()
                try encoder.finish(complete: complete, into: &out)
                final.value.withLock { $0 = encoder }
                continuation.yield(.bytes(out))
                continuation.finish()
            } catch {
                // Its state writes the error event, and counts what was streamed before the failure.
                final.value.withLock { $0 = encoder }
                continuation.finish(throwing: GatewayError.fromUpstream(error, provider: providerName))
            }
        }
        self.producer = producer
        self.timer = timer
        continuation.onTermination = { _ in
            producer.cancel()
            timer?.cancel()
            window.close()
        }
    }

    /// The encoder as the stream left it (its usage, its answer), once the upstream is no
    /// longer read; before that, as it started.
    var finalEncoder: Encoder { final.value.withLock { $0 } }

    /// The writer sent a `.bytes` event to the client: the producer may read on.
    func delivered() {
        window.taken()
    }

    /// Stops reading the upstream (the client went away); cancelling the read cancels the upstream request.
    func cancel() {
        producer.cancel()
        timer?.cancel()
        window.close()
    }

    /// Ends the stream with `error` after what was already produced (the server is shutting down).
    func abort(with error: GatewayError) {
        continuation.finish(throwing: error)
        cancel()
    }
}

/// What the relay hands the response writer.
enum StreamRelayEvent: Sendable {
    case bytes(ByteBuffer)
    case keepAlive
}

/// A stream a shutdown can end (OpenStreams), whatever its dialect.
protocol RelayedStream: AnyObject, Sendable {
    func abort(with error: GatewayError)
}

/// The encoder's last state, set by the producer when the stream ends.
private final class FinalEncoder<Encoder: ChatStreamEncoder>: Sendable {
    let value: Mutex<Encoder>

    init(_ encoder: Encoder) { value = Mutex(encoder) }
}

import NIOCore

/// A body as it arrives, one buffer per network read or chunk, with back-pressure: when the
/// reader falls behind, the connection stops reading. Dropping it before the end closes the
/// connection (docs/architecture.md, "The upstream HTTP client").
package struct UpstreamBody: AsyncSequence, Sendable {
    package typealias Element = ByteBuffer
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BodyDemand
    >
    let producer: Producer

    /// A body that is already complete (answers made without an upstream, tests).
    package static func bytes(_ buffer: ByteBuffer) -> UpstreamBody {
        let made = Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2), finishOnDeinit: false,
            delegate: BodyDemand(handler: nil, answer: nil))
        _ = made.source.yield(buffer)
        made.source.finish()
        return UpstreamBody(producer: made.sequence)
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: producer.makeAsyncIterator())
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        var inner: Producer.AsyncIterator

        package mutating func next() async throws -> ByteBuffer? {
            try await inner.next()
        }
    }

    /// The whole rest of the body, at most `maxBytes` (then `responseTooLarge`).
    package func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await var part in self {
            guard all.readableBytes + part.readableBytes <= maxBytes else { throw UpstreamError.responseTooLarge(limit: maxBytes) }
            all.writeBuffer(&part)
        }
        return all
    }

    /// The first `maxBytes` of the body (an error's excerpt); the rest is not read.
    package func prefix(_ maxBytes: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await var part in self {
            all.writeBuffer(&part)
            if all.readableBytes >= maxBytes { break }
        }
        return all.getSlice(at: all.readerIndex, length: Swift.min(all.readableBytes, maxBytes)) ?? all
    }
}

/// The body reader's demand, passed back to the connection's event loop.
final class BodyDemand: NIOAsyncSequenceProducerDelegate {
    private let handler: NIOLoopBound<ExchangeHandler>?
    private let answer: ObjectIdentifier?

    init(handler: NIOLoopBound<ExchangeHandler>?, answer: ObjectIdentifier?) {
        self.handler = handler
        self.answer = answer
    }

    func produceMore() {
        guard let handler, let answer else { return }
        handler.eventLoop.execute { handler.value.readerWantsMore(answer: answer) }
    }

    func didTerminate() {
        guard let handler, let answer else { return }
        handler.eventLoop.execute { handler.value.readerStopped(answer: answer) }
    }
}

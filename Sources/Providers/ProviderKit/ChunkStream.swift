import ChatCore
import NIOCore
import OpenAIWire
import UpstreamHTTP

/// Turns upstream body bytes into stream items; one implementation per upstream format.
package protocol ChunkDecoder: Sendable {
    mutating func decode(_ buffer: ByteBuffer) throws -> [StreamItem]
    /// The upstream closed the body: whatever is still buffered.
    mutating func finish() throws -> [StreamItem]
}

/// An upstream response body decoded into batches of stream items, one batch per
/// network read, pulled directly from the HTTP client (no extra task per chunk).
package struct ChunkStream: AsyncSequence, Sendable {
    package typealias Element = [StreamItem]
    let body: UpstreamBody
    let decoder: any ChunkDecoder

    package init(body: UpstreamBody, decoder: any ChunkDecoder) {
        self.body = body
        self.decoder = decoder
    }

    package func makeAsyncIterator() -> Iterator {
        Iterator(body: body.makeAsyncIterator(), decoder: decoder)
    }

    package struct Iterator: AsyncIteratorProtocol {
        var body: UpstreamBody.AsyncIterator
        var decoder: any ChunkDecoder
        var ended = false

        package mutating func next() async throws -> [StreamItem]? {
            while !ended {
                if let buffer = try await body.next() {
                    let items = try decoder.decode(buffer)
                    if !items.isEmpty { return items }
                    // Reads that complete nothing (an endless line, comments): stop when the client
                    // has gone, and let the other connections on this thread run (docs/security.md).
                    try Task.checkCancellation()
                    await Task.yield()
                } else {
                    ended = true
                    let items = try decoder.finish()
                    if !items.isEmpty { return items }
                }
            }
            return nil
        }
    }
}

/// The decoder for OpenAI-style SSE (`data: {chunk}` … `data: [DONE]`). `inspect`
/// lets a provider turn an in-band failure object into a typed error; it sees every event
/// except text-only chunks (`TextDeltaChunk`), which carry `choices` and nothing a failure has.
package struct SSEChunkDecoder: ChunkDecoder {
    private var parser = SSEParser()
    private let inspect: @Sendable (JSONObject) throws -> Void

    package init(inspect: @escaping @Sendable (JSONObject) throws -> Void = { _ in }) {
        self.inspect = inspect
    }

    package mutating func decode(_ buffer: ByteBuffer) throws -> [StreamItem] {
        do {
            return try items(parser.feed(buffer))
        } catch let overflow as SSEParser.Overflow {
            throw GatewayError.upstreamFailed(
                "The upstream sent an SSE \(overflow.what) longer than \(overflow.limit >> 20) MiB; the stream was ended.",
                code: "upstream_stream_too_large")
        }
    }

    package mutating func finish() throws -> [StreamItem] {
        try items(parser.finish())
    }

    private static let doneMarker = Array("[DONE]".utf8)

    private func items(_ events: [SSEEvent]) throws -> [StreamItem] {
        var items: [StreamItem] = []
        items.reserveCapacity(events.count)
        for event in events {
            if event.data == Self.doneMarker {
                items.append(.done)
                continue
            }
            if let delta = TextDeltaChunk(event.data) {
                items.append(.textDelta(delta))
                continue
            }
            guard case .object(let object) = try? JSONCoding.decode(.init(event.data)) else {
                throw GatewayError.upstreamFailed(
                    "The upstream sent an event that is not a JSON object: \(UpstreamExcerpt.of(event.data))",
                    code: "invalid_upstream_response")
            }
            try inspect(object)
            items.append(.chunk(object))
        }
        return items
    }
}

/// A stream request must be answered with `text/event-stream`; anything else is read (at most
/// `maxBytes`) and `failure` says what it means, in the provider's words (a business error in
/// a JSON body, an empty answer, or simply not a stream).
enum EventStreamCheck {
    static func require(
        _ response: UpstreamStreamingResponse, maxBytes: Int, failure: (_ contentType: String, _ body: ByteBuffer) -> GatewayError
    ) async throws {
        let contentType = response.headers.first(name: "content-type") ?? ""
        guard !contentType.contains("text/event-stream") else { return }
        throw failure(contentType, try await response.body.collect(upTo: maxBytes))
    }
}

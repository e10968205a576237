import Hummingbird
import NIOCore
import Synchronization

/// One request's body as the connection reads it (docs/architecture.md, "The server edge").
/// The route starts at the request's head, so an answer can go out before the body has
/// arrived (a 401 does); the body is handed over as one buffer when it is complete by
/// then, which is nearly always, else as a stream of what arrives. At most `limit + 1`
/// bytes are kept: the route's own `collect(upTo:)` then refuses the body, and the rest
/// is read and dropped. The connection's handler feeds it, the route's task reads it.
final class RequestBodyBuffer: Sendable {
    private struct State {
        var bytes: ByteBuffer?
        var kept = 0
        var complete = false
        var failure: (any Error)?
        var reader: UnsafeContinuation<ByteBuffer?, any Error>?
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// The body for `Request`: the whole buffer when it is complete, else a stream.
    func requestBody() -> RequestBody {
        let whole = state.withLock { state -> ByteBuffer? in
            guard state.complete, state.failure == nil else { return nil }
            defer { state.bytes = nil }
            return state.bytes ?? ByteBuffer()
        }
        if let whole { return RequestBody(buffer: whole) }
        return RequestBody(asyncSequence: Parts(buffer: self))
    }

    /// Whether the body, complete already, asks for a stream (`StreamHint`).
    func asksForStream() -> Bool {
        state.withLock { state in
            guard state.complete, let bytes = state.bytes else { return false }
            return bytes.withUnsafeReadableBytes(StreamHint.asksForStream)
        }
    }

    // MARK: The connection's side

    func append(_ part: ByteBuffer) {
        let handOver = state.withLock { state -> (UnsafeContinuation<ByteBuffer?, any Error>, ByteBuffer)? in
            guard !state.complete, state.kept <= limit else { return nil }
            let room = limit + 1 - state.kept
            let kept = part.readableBytes <= room ? part : part.getSlice(at: part.readerIndex, length: room)!
            state.kept += kept.readableBytes
            if let reader = state.reader {
                state.reader = nil
                return (reader, kept)
            }
            if state.bytes == nil {
                state.bytes = kept
            } else {
                state.bytes!.writeImmutableBuffer(kept)
            }
            return nil
        }
        if let (reader, kept) = handOver { reader.resume(returning: kept) }
    }

    /// The request's end arrived (or its answer is written and the rest will be dropped).
    func finish() {
        let reader = state.withLock { state -> UnsafeContinuation<ByteBuffer?, any Error>? in
            state.complete = true
            defer { state.reader = nil }
            return state.reader
        }
        reader?.resume(returning: nil)
    }

    /// The connection ended or broke before the body's end.
    func fail(_ error: any Error) {
        let reader = state.withLock { state -> UnsafeContinuation<ByteBuffer?, any Error>? in
            guard !state.complete else { return nil }
            state.complete = true
            state.failure = error
            defer { state.reader = nil }
            return state.reader
        }
        reader?.resume(throwing: error)
    }

    // MARK: The route's side

    private enum Taken {
        case bytes(ByteBuffer?)
        case failure(any Error)
        case wait
    }

    private static func take(_ state: inout State) -> Taken {
        if let bytes = state.bytes {
            state.bytes = nil
            return .bytes(bytes)
        }
        if let failure = state.failure { return .failure(failure) }
        return state.complete ? .bytes(nil) : .wait
    }

    fileprivate func next() async throws -> ByteBuffer? {
        switch state.withLock({ Self.take(&$0) }) {
        case .bytes(let bytes): return bytes
        case .failure(let error): throw error
        case .wait:
            return try await withUnsafeThrowingContinuation { continuation in
                // Between the look above and now the connection may have fed or ended the body.
                let now = state.withLock { state -> Taken in
                    let taken = Self.take(&state)
                    if case .wait = taken { state.reader = continuation }
                    return taken
                }
                switch now {
                case .bytes(let bytes): continuation.resume(returning: bytes)
                case .failure(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        }
    }

    private struct Parts: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let buffer: RequestBodyBuffer

        struct AsyncIterator: AsyncIteratorProtocol {
            let buffer: RequestBodyBuffer
            mutating func next() async throws -> ByteBuffer? { try await buffer.next() }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
    }
}

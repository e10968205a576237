import Foundation
import NIOCore
import OpenAIWire
import Providers
import Synchronization

#if os(Linux)
    /// glibc's `malloc_trim` (malloc.h is not part of the Glibc module).
    @_silgen_name("malloc_trim") private func mallocTrim(_ pad: Int) -> Int32
#endif

/// Parsing a large body takes many times its size in memory for a moment; only a few
/// are parsed at once, the rest wait in line (docs/security.md). When the last one is
/// done, freed memory goes back to the system: glibc keeps it otherwise.
final class LargeBodyGate: Sendable {
    /// Bodies from this size on take a slot.
    static let threshold = 1 << 20
    private let slots: AccountQueue
    private let parsing = Atomic<Int>(0)

    init(concurrent: Int = 2) {
        slots = AccountQueue(settings: .init(limit: concurrent, maxWaiting: 64, waitTimeout: .seconds(60)))
    }

    func parse<T>(_ bytes: ByteBuffer, _ body: (ByteBuffer) throws -> T) async throws -> T {
        guard bytes.readableBytes >= Self.threshold else { return try body(bytes) }
        let permit: AccountQueue.Permit
        do {
            permit = try await slots.acquire()
        } catch let error as GatewayError {
            // The queue speaks of accounts; here the line is for large bodies.
            throw GatewayError.rateLimited(
                "Too many large requests are waiting to be read; try again shortly.", code: error.code ?? "busy",
                retryAfter: error.retryAfter ?? 5)
        }
        parsing.add(1, ordering: .relaxed)
        defer {
            if parsing.subtract(1, ordering: .relaxed).newValue == 0 { Self.returnFreedMemory() }
            permit.release()
        }
        return try body(bytes)
    }

    private static func returnFreedMemory() {
        #if os(Linux)
            _ = mallocTrim(0)
        #endif
    }
}

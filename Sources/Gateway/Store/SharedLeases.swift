import Foundation
import Logging
import OpenAIWire
import Providers
import ServiceLifecycle
import Stores
import Synchronization

/// An account's in-flight limit held by all instances together (docs/architecture.md, "State
/// store"). Only with a shared store (PostgreSQL): once the local line has granted a slot, the
/// request also takes one of the account's `limit` slots in the store, polling while all are
/// held, until the line's wait timeout. Slots are held under this instance's id and renewed
/// every 10 s; a crashed instance's slots lapse 30 s after their last renewal. While the store
/// fails, limits are local only (checked again after `pause`).
final class SharedLeases: Service {
    private let store: any LeaseStore
    private let logger: Logger
    let holder = StoreHolder.thisInstance
    static let lifetime: TimeInterval = 30
    static let renewEvery = Duration.seconds(10)
    /// After a store failure, how long requests skip the store.
    static let pause = Duration.seconds(5)
    private let skipUntil = Mutex<ContinuousClock.Instant?>(nil)

    init(store: any LeaseStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Holds one of `account`'s slots in the store for `lease`, released with it. Throws 429
    /// when none frees within the line's wait, or when the client leaves.
    func hold(_ lease: Lease, provider: String, settings: AccountQueue.Settings) async throws {
        guard settings.limit > 0, !skipping else { return }
        let key = "\(provider)/\(lease.name)"
        let giveUp = ContinuousClock.now + settings.waitTimeout
        // The first miss may be a race lost to another request for the same slot: ask again at once.
        var pollDelay = Duration.zero
        while true {
            let slot: Int?
            do {
                let now = Date()
                slot = try await store.acquireLease(
                    key: key, limit: settings.limit, holder: holder, now: now,
                    expires: now.addingTimeInterval(Self.lifetime))
            } catch {
                storeFailed(error)
                return
            }
            if let slot {
                let (store, holder) = (store, holder)
                lease.alsoRelease { Task { try? await store.releaseLease(key: key, slot: slot, holder: holder) } }
                return
            }
            guard ContinuousClock.now + pollDelay < giveUp else {
                throw GatewayError.rateLimited(
                    "Waited \(settings.waitTimeout) for a free slot on this account (held by other instances).",
                    code: "queue_timeout", retryAfter: 5)
            }
            try await Task.sleep(for: pollDelay)
            pollDelay = pollDelay == .zero ? .milliseconds(20) : min(pollDelay * 2, .milliseconds(100))
        }
    }

    private var skipping: Bool {
        skipUntil.withLock { until in
            guard let end = until else { return false }
            if ContinuousClock.now < end { return true }
            until = nil
            return false
        }
    }

    private func storeFailed(_ error: any Error) {
        let first = skipUntil.withLock { until in
            defer { until = .now + Self.pause }
            return until == nil
        }
        if first { logger.warning("in-flight limits are local only while the state store fails: \(error)") }
    }

    /// Renews this instance's slots until shutdown.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.renewEvery)
                try? await self.store.renewLeases(holder: self.holder, expires: Date().addingTimeInterval(Self.lifetime))
            }
        }
    }
}

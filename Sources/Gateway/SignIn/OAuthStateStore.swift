import Foundation
import Synchronization

/// OAuth `state` values (docs/security.md): each is single-use and expires after 10
/// minutes; it remembers the provider and the redirect it was issued for, which the code
/// exchange must repeat. When full, new sign-ins are refused: a pending one is never pushed out early.
final class OAuthStateStore: Sendable {
    struct Pending: Equatable {
        let provider: String
        let redirect: String
        /// The account the sign-in is for (nil: the provider's main account).
        var account: String? = nil
    }

    private struct Entry {
        let pending: Pending
        let created: ContinuousClock.Instant
    }

    static let lifetime: Duration = .seconds(600)
    static let capacity = 64
    private let entries = Mutex<[String: Entry]>([:])
    private let now: @Sendable () -> ContinuousClock.Instant

    /// `now`: the clock (tests pass their own).
    init(now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.now = now
    }

    /// False when `capacity` sign-ins are already pending.
    func issue(_ pending: Pending, state: String) -> Bool {
        entries.withLock { entries in
            let now = self.now()
            entries = entries.filter { now - $0.value.created < Self.lifetime }
            guard entries.count < Self.capacity else { return false }
            entries[state] = Entry(pending: pending, created: now)
            return true
        }
    }

    /// What the state was issued for, once; nil for unknown, reused or expired states.
    func consume(_ state: String) -> Pending? {
        entries.withLock { entries in
            guard let entry = entries.removeValue(forKey: state), now() - entry.created < Self.lifetime
            else { return nil }
            return entry.pending
        }
    }
}

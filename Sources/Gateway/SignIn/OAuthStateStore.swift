import Foundation
import Synchronization

/// OAuth `state` values (SPEC 5): each is single-use and expires after 10 minutes;
/// it remembers the redirect it was issued for, which the code exchange must repeat.
final class OAuthStateStore: Sendable {
    private struct Entry {
        let redirect: String
        let created: ContinuousClock.Instant
    }

    static let lifetime: Duration = .seconds(600)
    private static let capacity = 64
    private let entries = Mutex<[String: Entry]>([:])

    func issue(redirect: String, state: String) {
        entries.withLock { entries in
            let now = ContinuousClock.now
            entries = entries.filter { now - $0.value.created < Self.lifetime }
            if entries.count >= Self.capacity, let oldest = entries.min(by: { $0.value.created < $1.value.created }) {
                entries.removeValue(forKey: oldest.key)
            }
            entries[state] = Entry(redirect: redirect, created: now)
        }
    }

    /// The redirect the state was issued for, once; nil for unknown, reused or expired states.
    func consume(_ state: String) -> String? {
        entries.withLock { entries in
            guard let entry = entries.removeValue(forKey: state), ContinuousClock.now - entry.created < Self.lifetime
            else { return nil }
            return entry.redirect
        }
    }
}

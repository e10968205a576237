import Foundation
import Stores

/// OAuth `state` values (docs/security.md): single-use, 10 minutes, remembering the provider and
/// redirect the code exchange must repeat. They live in the state store, so a sign-in started on one
/// instance can finish on another; while the store fails they are kept in this process instead.
/// When `capacity` are pending, new sign-ins are refused: a pending one is never pushed out early.
struct SignInStates: Sendable {
    static let lifetime: TimeInterval = 600
    static let capacity = 64
    let store: any StateStore
    /// Used only while `store` fails.
    private let local = MemoryStateStore()
    private let now: @Sendable () -> Date

    init(store: any StateStore, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.now = now
    }

    /// False when `capacity` sign-ins are already pending.
    func issue(provider: String, redirect: String, account: String?, state: String) async -> Bool {
        let now = now()
        let pending = PendingSignIn(
            provider: provider, redirect: redirect, account: account, expires: now.addingTimeInterval(Self.lifetime))
        do {
            return try await store.issueSignIn(state: state, pending, capacity: Self.capacity, now: now)
        } catch {
            return (try? await local.issueSignIn(state: state, pending, capacity: Self.capacity, now: now)) ?? false
        }
    }

    /// What the state was issued for, once; nil for unknown, reused or expired states.
    func consume(_ state: String) async -> PendingSignIn? {
        let now = now()
        if let pending = try? await local.consumeSignIn(state: state, now: now) { return pending }
        return try? await store.consumeSignIn(state: state, now: now)
    }
}

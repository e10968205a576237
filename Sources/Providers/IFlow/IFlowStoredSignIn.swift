import Foundation
import OpenAIWire
import Stores
import Synchronization

/// A sign-in through flowgate kept in the state store, sealed (docs/architecture.md, "State
/// store"): the record is `oauth_creds.json`'s object with its `apiKey`. Requests read the
/// copy held here; the provider brings in other instances' writes every 2 s (`apply`). A
/// refresh takes the store's lock for this sign-in, so instances sharing it refresh it once:
/// the others wait for the new record and use it.
package final class IFlowStoredSignIn: IFlowSignInHome {
    package typealias Store = any AccountStore & RefreshLockStore

    private struct Record {
        var creds: JSONObject
        var updated: Date
        /// Written here but not yet to the store (it failed): kept over the store's older copy, written again.
        var unsaved = false
    }

    let provider: String
    let name: String
    private let store: Store
    private let record = Mutex<Record?>(nil)
    private let removed = Atomic(false)
    /// A crashed holder's lock lapses after this.
    static let lockLifetime: TimeInterval = 60
    /// How long an instance waits for another one's refresh before giving up this round.
    static let waitForOther = Duration.seconds(20)

    init(provider: String, name: String, store: Store) {
        self.provider = provider
        self.name = name
        self.store = store
    }

    private var lockKey: String { "\(provider)/\(name)/refresh" }

    var key: String? { record.withLock { $0?.creds["apiKey"]?.stringValue } }
    var updated: Date? { record.withLock { $0?.updated } }
    var isUnsaved: Bool { record.withLock { $0?.unsaved == true } }

    package func load() -> IFlowCredentialFiles.Stored? {
        record.withLock { $0.flatMap { IFlowCredentialFiles.stored(inCreds: $0.creds) } }
    }

    /// Held here at once; a store that fails takes it later (`writeUnsaved`), so a refreshed
    /// token is never lost to a store outage.
    package func save(_ signIn: IFlowOAuth.SignIn) async throws {
        guard !removed.load(ordering: .acquiring) else {
            throw CredentialFileError(message: "the account '\(name)' was removed")
        }
        let saved = record.withLock { record -> Record in
            let next = Record(creds: IFlowCredentialFiles.creds(signIn, over: record?.creds ?? [:]), updated: Date(), unsaved: true)
            record = next
            return next
        }
        try? await write(saved)
    }

    private func write(_ saved: Record) async throws {
        let data = Data(JSONCoding.buffer(saved.creds).readableBytesView)
        try await store.saveAccount(StoredAccount(provider: provider, name: name, credentials: data, updated: saved.updated))
        record.withLock { if $0?.updated == saved.updated { $0?.unsaved = false } }
    }

    /// Writes again what a failing store did not take.
    func writeUnsaved() async {
        guard let pending = record.withLock({ $0?.unsaved == true ? $0 : nil }) else { return }
        try? await write(pending)
    }

    /// The store's record, when newer than the one held here; true when it was taken.
    @discardableResult
    func apply(_ account: StoredAccount) -> Bool {
        guard case .object(let creds)? = try? JSONCoding.decode(account.credentials) else { return false }
        return record.withLock { record in
            if let held = record, held.unsaved || held.updated >= account.updated { return false }
            record = Record(creds: creds, updated: account.updated)
            return true
        }
    }

    /// Taken out of the pool: nothing is written for it any more (its refresher may still run).
    func markRemoved() { removed.store(true, ordering: .releasing) }

    private func reread() async {
        guard let accounts = try? await store.accounts(provider: provider),
            let account = accounts.first(where: { $0.name == name })
        else { return }
        apply(account)
    }

    package func refreshOnce(_ refresh: @Sendable () async -> Bool) async -> Bool {
        let seen = updated
        let giveUp = ContinuousClock.now + Self.waitForOther
        while true {
            let now = Date()
            let acquired: Bool
            do {
                acquired = try await store.acquireLock(
                    key: lockKey, holder: StoreHolder.thisInstance, now: now, expires: now.addingTimeInterval(Self.lockLifetime))
            } catch {
                // The store fails: the sign-in must not lapse for that; refresh here.
                return await refresh()
            }
            if acquired { break }
            // Another instance refreshes: its result is what this one uses.
            try? await Task.sleep(for: .milliseconds(250))
            await reread()
            if updated != seen { return true }
            if ContinuousClock.now > giveUp { return false }
        }
        // It may have finished just before this instance took the lock.
        await reread()
        let refreshed = updated != seen ? true : await refresh()
        try? await store.releaseLock(key: lockKey, holder: StoreHolder.thisInstance)
        return refreshed
    }
}

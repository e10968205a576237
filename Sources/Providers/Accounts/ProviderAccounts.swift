import Foundation
import OpenAIWire
import Synchronization

/// A provider's accounts at run time (docs/architecture.md, "Account pools"): the pool's rules
/// (`AccountPool`) behind a lock, each account's line of requests (`AccountQueue`), and the
/// clock. The dispatcher leases an account for one attempt and reports how it went; the
/// provider says when credentials come or go; the console acts on accounts by name.
package final class ProviderAccounts: Sendable {
    private struct Shared {
        var pool: AccountPool
        var queues: [AccountQueue]
        /// Cooldowns set or cleared here, for the state store to share (`takeCooldownChanges`).
        var cooldownChanges: [CooldownChange] = []
    }

    /// What other instances (and the next start) should learn about this pool's cooldowns.
    package enum CooldownChange: Sendable, Equatable {
        /// `model` nil: the whole account.
        case cooled(account: String, model: String?, until: Date)
        case cleared(account: String)
    }

    /// Changes kept at most while nobody takes them (no store running).
    static let cooldownChangeLimit = 1000

    private let shared: Mutex<Shared>
    /// Each account's line: its in-flight limit, queue length and wait.
    package let settings: AccountQueue.Settings
    private let clock: @Sendable () -> ContinuousClock.Instant

    package init(
        names: [String], settings: AccountQueue.Settings, strategy: AccountPool.Strategy = .roundRobin,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.settings = settings
        self.clock = clock
        let pool = AccountPool(accounts: names.map { ($0, settings.limit) }, strategy: strategy)
        self.shared = Mutex(Shared(pool: pool, queues: names.map { _ in AccountQueue(settings: settings) }))
    }

    package var strategy: AccountPool.Strategy { shared.withLock { $0.pool.strategy } }

    /// What a lease request found when no account could be leased.
    package enum Refusal: Error, Equatable {
        case allCooling(until: ContinuousClock.Instant)
        case exhausted
        case noneUsable
    }

    /// An account for one attempt, its slot held (waiting in its line if it is busy). Throws
    /// when the line is full or the wait times out (429), or the task is cancelled.
    package func lease(model: String? = nil, session: String? = nil, excluding: Set<Int> = []) async throws
        -> Result<Lease, Refusal>
    {
        let chosen = shared.withLock { shared -> Result<(Int, String, AccountQueue), Refusal> in
            switch shared.pool.choose(now: clock(), model: model, session: session, excluding: excluding) {
            case .account(let index):
                shared.pool.started(index)
                return .success((index, shared.pool.name(index), shared.queues[index]))
            case .allCooling(let until): return .failure(.allCooling(until: until))
            case .exhausted: return .failure(.exhausted)
            case .noneUsable: return .failure(.noneUsable)
            }
        }
        let (index, name, queue): (Int, String, AccountQueue)
        switch chosen {
        case .success(let account): (index, name, queue) = account
        case .failure(let refusal): return .failure(refusal)
        }
        do {
            let permit = try await queue.acquire()
            return .success(Lease(index: index, name: name, accounts: self, permit: permit))
        } catch {
            shared.withLock { $0.pool.finished(index) }
            throw error
        }
    }

    fileprivate func finished(_ index: Int) {
        shared.withLock { $0.pool.finished(index) }
    }

    fileprivate func report(_ index: Int, fault: AccountPool.Fault?) {
        let now = clock()
        shared.withLock { shared in
            guard let fault else { return shared.pool.succeeded(index) }
            var model: String?
            if case .rateLimited(_, let limited) = fault { model = limited }
            let before = shared.pool.coolingEnd(index, model: model, now: now)
            shared.pool.failed(index, fault, now: now)
            if let until = shared.pool.coolingEnd(index, model: model, now: now), until != before {
                let change = CooldownChange.cooled(
                    account: shared.pool.name(index), model: model, until: date(of: until, now: now))
                record(change, in: &shared)
            }
        }
    }

    private func record(_ change: CooldownChange, in shared: inout Shared) {
        if shared.cooldownChanges.count >= Self.cooldownChangeLimit { shared.cooldownChanges.removeFirst() }
        shared.cooldownChanges.append(change)
    }

    private func date(of instant: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Date {
        Date().addingTimeInterval(Self.seconds(instant - now))
    }

    // MARK: Cooldowns shared through the state store

    /// The cooldowns set or cleared here since the last call.
    package func takeCooldownChanges() -> [CooldownChange] {
        shared.withLock { shared in
            defer { shared.cooldownChanges = [] }
            return shared.cooldownChanges
        }
    }

    /// A cooldown from the store (another instance's, or from before a restart); unknown names are
    /// skipped, and so is an account cleared here since the last `takeCooldownChanges`: the store
    /// has not seen that clear yet, so its cooldown is older than it (an operator's "enable"
    /// between a sync's write and its read would otherwise be undone until the cooldown ended).
    package func applyCooldown(account name: String, model: String?, until: Date) {
        let now = clock()
        let end = now + .milliseconds(Int64(until.timeIntervalSinceNow * 1000))
        shared.withLock { shared in
            guard let index = shared.pool.index(named: name),
                !shared.cooldownChanges.contains(.cleared(account: name))
            else { return }
            shared.pool.cooled(index, until: end, model: model, now: now)
        }
    }

    // MARK: Accounts coming and going

    /// A new account (a sign-in) or one signed in again; returns its index.
    @discardableResult
    package func add(_ name: String) -> Int {
        shared.withLock { shared in
            let index = shared.pool.add(name: name, limit: settings.limit)
            if index == shared.queues.count { shared.queues.append(AccountQueue(settings: settings)) }
            shared.pool.signedIn(index)
            return index
        }
    }

    package func index(named name: String) -> Int? {
        shared.withLock { shared in
            shared.pool.index(named: name).flatMap { index in
                shared.pool.snapshot(now: clock()).contains { $0.index == index } ? index : nil
            }
        }
    }

    package func signedIn(_ index: Int) { shared.withLock { $0.pool.signedIn(index) } }
    package func signedOut(_ index: Int) { shared.withLock { $0.pool.signedOut(index) } }

    // MARK: The operator's actions (by name; false when there is no such account)

    package func setDisabled(_ name: String, _ disabled: Bool) -> Bool {
        act(on: name) { $0.setDisabled($1, disabled) }
    }

    package func clearCooldown(_ name: String) -> Bool {
        act(on: name) { $0.clearCooldown($1) }
    }

    package func remove(_ name: String) -> Bool {
        act(on: name) { $0.remove($1) }
    }

    /// Every action clears the account's cooldowns (removing ends them; enabling, disabling and
    /// clearing start afresh); other instances learn it through the store.
    private func act(on name: String, _ action: (inout AccountPool, Int) -> Void) -> Bool {
        guard let index = index(named: name) else { return false }
        shared.withLock { shared in
            action(&shared.pool, index)
            record(.cleared(account: name), in: &shared)
        }
        return true
    }

    // MARK: What /health and the console show

    package struct Status: Sendable, Equatable {
        package let index: Int
        package let name: String
        /// `ok`, `cooling`, `needs_sign_in` or `disabled`.
        package let state: String
        /// When a cooldown ends (the account's, else the latest of its per-model ones).
        package let coolingUntil: Date?
        package let inFlight: Int
        package let queued: Int
    }

    package func status() -> [Status] {
        let now = clock()
        let wall = Date()
        return shared.withLock { shared in
            shared.pool.snapshot(now: now).map { entry in
                let queue = shared.queues[entry.index]
                var until = entry.modelsCoolingUntil
                let state: String
                switch entry.state {
                case .ok: state = "ok"
                case .cooling(let end):
                    state = "cooling"
                    until = end
                case .needsSignIn: state = "needs_sign_in"
                case .disabled: state = "disabled"
                }
                let date = until.map { wall.addingTimeInterval(Self.seconds($0 - now)) }
                return Status(
                    index: entry.index, name: entry.name, state: state, coolingUntil: date, inFlight: queue.inFlight,
                    queued: queue.waiting)
            }
        }
    }

    /// Why no account serves, naming each (for `no_usable_account`).
    package func unusableSummary() -> String {
        let accounts = status()
        guard !accounts.isEmpty else { return "it has no account" }
        return accounts.map { account in
            switch account.state {
            case "needs_sign_in": return "'\(account.name)' needs a sign-in or a new key"
            case "disabled": return "'\(account.name)' is disabled (enable it on the console)"
            default: return "'\(account.name)' is \(account.state)"
            }
        }.joined(separator: ", ")
    }

    package static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

/// One account held for one attempt. `succeeded`/`failed` tell the pool how the attempt went;
/// `release` frees the slot (for a stream: when the upstream is no longer read). Released
/// exactly once: explicitly, or when the last reference goes.
package final class Lease: Sendable {
    package let index: Int
    package let name: String
    private let accounts: ProviderAccounts
    private let permit: AccountQueue.Permit
    private let released = Atomic(false)
    /// A slot held elsewhere for this lease (a shared store's), freed with it.
    private let alsoHeld = Mutex<(@Sendable () -> Void)?>(nil)

    fileprivate init(index: Int, name: String, accounts: ProviderAccounts, permit: AccountQueue.Permit) {
        self.index = index
        self.name = name
        self.accounts = accounts
        self.permit = permit
    }

    package func succeeded() { accounts.report(index, fault: nil) }
    package func failed(_ fault: AccountPool.Fault) { accounts.report(index, fault: fault) }

    /// Ties `release` to this lease: it runs when the lease is released (at once if it already was).
    package func alsoRelease(_ release: @escaping @Sendable () -> Void) {
        alsoHeld.withLock { $0 = release }
        if released.load(ordering: .acquiring) { alsoHeld.withLock { $0.take() }?() }
    }

    package func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        permit.release()
        accounts.finished(index)
        alsoHeld.withLock { $0.take() }?()
    }

    deinit { release() }
}

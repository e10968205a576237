/// Which account of a provider serves the next attempt, and what a failure does to it
/// (docs/architecture.md, "Account pools"): round robin or fill-first, skipping an account
/// at its limit while another has room; session affinity for an hour while the account
/// stays `ok`; cooldowns for rate limits (the upstream's `Retry-After`, else 1 s doubling to
/// 30 min, reset by a success; per model where the upstream said the limit is per model)
/// and for an unavailable upstream (60 s after 3 in a row); a rejected account needs a
/// sign-in. Pure: every call takes `now`, so tests move time by hand.
package struct AccountPool: Sendable {
    package typealias Instant = ContinuousClock.Instant

    package enum Strategy: String, Sendable, CaseIterable {
        case roundRobin = "round_robin"
        case fillFirst = "fill_first"
    }

    package enum State: Sendable, Equatable {
        case ok
        case cooling(until: Instant)
        case needsSignIn
        case disabled
    }

    /// A failure that belongs to the account (a request's own faults never reach the pool).
    package enum Fault: Sendable, Equatable {
        /// 429, iFlow 449/8211. `model`: the upstream said the limit is for this model only.
        case rateLimited(retryAfter: Duration?, model: String? = nil)
        /// 5xx, a refused connection, no answer head in time.
        case unavailable
        /// 401/403 (after the provider's own refresh), iFlow 434/439, no credentials.
        case rejected
    }

    package enum Choice: Sendable, Equatable {
        case account(Int)
        /// Every usable account is cooling; the soonest is back at `until`.
        case allCooling(until: Instant)
        /// This request already tried every account that could serve it.
        case exhausted
        /// No account can serve at all (signed out, disabled, removed, or none configured).
        case noneUsable
    }

    static let affinityLifetime = Duration.seconds(3600)
    /// Sessions remembered at most; beyond this the expired ones go, then all (a flood of ids).
    static let affinityCapacity = 10_000
    static let firstBackoff = Duration.seconds(1)
    static let longestBackoff = Duration.seconds(1800)
    static let unavailableCooldown = Duration.seconds(60)
    static let unavailableStreakLimit = 3

    private struct Account {
        let name: String
        /// Requests in flight at once; 0 = unlimited.
        let limit: Int
        var inFlight = 0
        var state = State.ok
        /// Taken out by the operator: never chosen, not shown; its index stays reserved.
        var removed = false
        /// Model → end of a cooldown for that model only.
        var modelCooling: [String: Instant] = [:]
        /// The last cooldown a rate limit without `Retry-After` got, doubled on a repeat.
        var backoff: Duration?
        var unavailableInARow = 0

        var hasRoom: Bool { limit == 0 || inFlight < limit }

        func serves(_ model: String?, now: Instant) -> Bool {
            guard !removed, state == .ok else { return false }
            guard let model, let until = modelCooling[model] else { return true }
            return until <= now
        }
    }

    package let strategy: Strategy
    private var accounts: [Account]
    /// Round robin: where the next search starts.
    private var cursor = 0
    private var affinity: [String: (account: Int, until: Instant)] = [:]

    package init(accounts: [(name: String, limit: Int)], strategy: Strategy = .roundRobin) {
        self.accounts = accounts.map { Account(name: $0.name, limit: $0.limit) }
        self.strategy = strategy
    }

    package var count: Int { accounts.count }
    /// Sessions with an affinity remembered now.
    package var sessions: Int { affinity.count }

    package func name(_ account: Int) -> String { accounts[account].name }

    /// The account's index by name (removed accounts included, so a new sign-in can bring one back).
    package func index(named name: String) -> Int? { accounts.firstIndex { $0.name == name } }

    /// A new account (a sign-in); returns its index, which never changes.
    package mutating func add(name: String, limit: Int) -> Int {
        if let existing = index(named: name) {
            accounts[existing].removed = false
            return existing
        }
        accounts.append(Account(name: name, limit: limit))
        return accounts.count - 1
    }

    package mutating func remove(_ account: Int) {
        accounts[account].removed = true
        affinity = affinity.filter { $0.value.account != account }
    }

    /// The account for the next attempt. `model`: what it is for (per-model cooldowns);
    /// `session`: the affinity key (x-session-id, metadata.user_id, …); `excluding`: the
    /// accounts this request already tried.
    package mutating func choose(
        now: Instant, model: String? = nil, session: String? = nil, excluding: Set<Int> = []
    ) -> Choice {
        recover(now: now)
        func eligible(_ index: Int) -> Bool { !excluding.contains(index) && accounts[index].serves(model, now: now) }
        if let session, let stuck = affinity[session], stuck.until > now, eligible(stuck.account),
            accounts[stuck.account].hasRoom
        {
            return .account(stuck.account)
        }
        // Round robin searches from the cursor, fill-first from the top; an account with
        // room wins, else the first eligible one (the request waits in its line).
        let start = strategy == .roundRobin && cursor < accounts.count ? cursor : 0
        var firstEligible: Int?
        var chosen: Int?
        for step in 0..<accounts.count {
            let index = (start + step) % accounts.count
            guard eligible(index) else { continue }
            if firstEligible == nil { firstEligible = index }
            if accounts[index].hasRoom {
                chosen = index
                break
            }
        }
        guard let chosen = chosen ?? firstEligible else { return nothingToChoose(now: now, model: model) }
        if strategy == .roundRobin { cursor = chosen + 1 }
        if let session { remember(session, on: chosen, now: now) }
        return .account(chosen)
    }

    package mutating func started(_ account: Int) {
        accounts[account].inFlight += 1
    }

    package mutating func finished(_ account: Int) {
        accounts[account].inFlight = max(0, accounts[account].inFlight - 1)
    }

    package mutating func succeeded(_ account: Int) {
        accounts[account].backoff = nil
        accounts[account].unavailableInARow = 0
    }

    package mutating func failed(_ account: Int, _ fault: Fault, now: Instant) {
        switch fault {
        case .rateLimited(let retryAfter, let model):
            let wait: Duration
            if let retryAfter {
                wait = retryAfter
            } else {
                wait = accounts[account].backoff.map { min($0 * 2, Self.longestBackoff) } ?? Self.firstBackoff
                accounts[account].backoff = wait
            }
            if let model {
                accounts[account].modelCooling[model] = now + wait
            } else {
                cool(account, for: wait, now: now)
            }
        case .unavailable:
            accounts[account].unavailableInARow += 1
            if accounts[account].unavailableInARow >= Self.unavailableStreakLimit {
                accounts[account].unavailableInARow = 0
                cool(account, for: Self.unavailableCooldown, now: now)
            }
        case .rejected:
            if accounts[account].state != .disabled { accounts[account].state = .needsSignIn }
        }
    }

    /// The operator's actions (console), and what a provider learns about credentials.
    /// Enabling starts the account afresh: no cooldown, backoff or run of failures.
    package mutating func setDisabled(_ account: Int, _ disabled: Bool) {
        clearCooldown(account)
        accounts[account].state = disabled ? .disabled : .ok
    }

    package mutating func clearCooldown(_ account: Int) {
        if case .cooling = accounts[account].state { accounts[account].state = .ok }
        accounts[account].modelCooling = [:]
        accounts[account].backoff = nil
        accounts[account].unavailableInARow = 0
    }

    /// When the account's cooldown ends (for `model` only, or the whole account when nil), if one runs.
    package func coolingEnd(_ account: Int, model: String?, now: Instant) -> Instant? {
        if let model { return accounts[account].modelCooling[model].flatMap { $0 > now ? $0 : nil } }
        if case .cooling(let until) = accounts[account].state, until > now { return until }
        return nil
    }

    /// A cooldown another instance set (docs/architecture.md, "State store"): applied when it ends
    /// later than what this pool knows; the backoff and failure runs stay this pool's own.
    package mutating func cooled(_ account: Int, until: Instant, model: String?, now: Instant) {
        guard until > now, (coolingEnd(account, model: model, now: now) ?? now) < until else { return }
        if let model {
            accounts[account].modelCooling[model] = until
        } else {
            cool(account, for: until - now, now: now)
        }
    }

    /// New credentials (a sign-in, a changed key): a signed-out account serves again.
    package mutating func signedIn(_ account: Int) {
        if accounts[account].state == .needsSignIn { accounts[account].state = .ok }
    }

    /// The account has no credentials (yet): it waits for a sign-in.
    package mutating func signedOut(_ account: Int) {
        if accounts[account].state != .disabled { accounts[account].state = .needsSignIn }
    }

    package struct Entry: Sendable, Equatable {
        package let index: Int
        package let name: String
        package let state: State
        /// The latest end of a per-model cooldown still running, if any.
        package let modelsCoolingUntil: Instant?
        package let inFlight: Int
    }

    /// Each account not removed, for /health and the console.
    package func snapshot(now: Instant) -> [Entry] {
        accounts.indices.filter { !accounts[$0].removed }.map { index in
            let account = accounts[index]
            var state = account.state
            if case .cooling(let until) = state, until <= now { state = .ok }
            let models = account.modelCooling.values.filter { $0 > now }.max()
            return Entry(index: index, name: account.name, state: state, modelsCoolingUntil: models, inFlight: account.inFlight)
        }
    }

    private mutating func remember(_ session: String, on account: Int, now: Instant) {
        if affinity.count >= Self.affinityCapacity {
            affinity = affinity.filter { $0.value.until > now }
            if affinity.count >= Self.affinityCapacity { affinity = [:] }
        }
        affinity[session] = (account, now + Self.affinityLifetime)
    }

    private mutating func cool(_ account: Int, for wait: Duration, now: Instant) {
        guard accounts[account].state != .disabled, accounts[account].state != .needsSignIn else { return }
        accounts[account].state = .cooling(until: now + wait)
    }

    private mutating func recover(now: Instant) {
        for index in accounts.indices {
            if case .cooling(let until) = accounts[index].state, until <= now { accounts[index].state = .ok }
        }
    }

    /// Cooling accounts (tried or not) come back: say when the first does. Else an account this
    /// request tried may still serve others (exhausted); otherwise none can serve.
    private func nothingToChoose(now: Instant, model: String?) -> Choice {
        var soonest: Instant?
        var anyServes = false
        for account in accounts where !account.removed {
            var until: Instant?
            if case .cooling(let end) = account.state { until = end }
            if account.state == .ok, let model, let end = account.modelCooling[model], end > now { until = end }
            if let until { soonest = min(soonest ?? until, until) }
            anyServes = anyServes || account.serves(model, now: now)
        }
        if let soonest { return .allCooling(until: soonest) }
        return anyServes ? .exhausted : .noneUsable
    }
}

/// Which account of a provider serves the next attempt, and what a failure does to it
/// (docs/architecture.md, "Account pools"): round robin or fill-first, skipping an account
/// at its limit while another has room; session affinity for an hour while the account
/// stays `ok`; cooldowns for rate limits (the upstream's `Retry-After`, else 1 s doubling to
/// 30 min, reset by a success) and for an unavailable upstream (60 s after 3 in a row); a
/// rejected account needs a sign-in. Pure: every call takes `now`, so tests move time by hand.
package struct AccountPool: Sendable {
    package typealias Instant = ContinuousClock.Instant

    package enum Strategy: String, Sendable {
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
        /// 429, iFlow 449/8211.
        case rateLimited(retryAfter: Duration?)
        /// 5xx, a refused connection, no answer head in time.
        case unavailable
        /// 401/403 (after the provider's own refresh), iFlow 434/439.
        case rejected
    }

    package enum Choice: Sendable, Equatable {
        case account(Int)
        /// Every usable account is cooling; the soonest is back at `until`.
        case allCooling(until: Instant)
        /// No account can serve at all (signed out, disabled, or none left to try).
        case noneUsable
    }

    static let affinityLifetime = Duration.seconds(3600)
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
        /// The last cooldown a rate limit without `Retry-After` got, doubled on a repeat.
        var backoff: Duration?
        var unavailableInARow = 0

        var hasRoom: Bool { limit == 0 || inFlight < limit }
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

    /// The account for the next attempt. `excluding`: accounts this request already tried;
    /// `session`: the affinity key (x-session-id, metadata.user_id, …).
    package mutating func choose(now: Instant, session: String? = nil, excluding: Set<Int> = []) -> Choice {
        recover(now: now)
        let usable = accounts.indices.filter { !excluding.contains($0) && accounts[$0].state == .ok }
        guard !usable.isEmpty else { return nothingToChoose() }
        if let session, let stuck = affinity[session], stuck.until > now, usable.contains(stuck.account),
            accounts[stuck.account].hasRoom
        {
            return .account(stuck.account)
        }
        let withRoom = usable.filter { accounts[$0].hasRoom }
        // All at their limit: one is still chosen, and the request waits in its line.
        let candidates = withRoom.isEmpty ? usable : withRoom
        let chosen: Int
        switch strategy {
        case .fillFirst:
            chosen = candidates[0]
        case .roundRobin:
            chosen = candidates.first { $0 >= cursor } ?? candidates[0]
            cursor = chosen + 1
        }
        if let session { affinity[session] = (chosen, now + Self.affinityLifetime) }
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
        case .rateLimited(let retryAfter?):
            cool(account, for: retryAfter, now: now)
        case .rateLimited(nil):
            let wait = accounts[account].backoff.map { min($0 * 2, Self.longestBackoff) } ?? Self.firstBackoff
            accounts[account].backoff = wait
            cool(account, for: wait, now: now)
        case .unavailable:
            accounts[account].unavailableInARow += 1
            if accounts[account].unavailableInARow >= Self.unavailableStreakLimit {
                accounts[account].unavailableInARow = 0
                cool(account, for: Self.unavailableCooldown, now: now)
            }
        case .rejected:
            accounts[account].state = .needsSignIn
        }
    }

    /// The operator's actions (console), and a new sign-in for the account.
    package mutating func setDisabled(_ account: Int, _ disabled: Bool) {
        accounts[account].state = disabled ? .disabled : .ok
    }

    package mutating func clearCooldown(_ account: Int) {
        if case .cooling = accounts[account].state { accounts[account].state = .ok }
        accounts[account].backoff = nil
    }

    package mutating func signedIn(_ account: Int) {
        accounts[account].state = .ok
    }

    /// Each account's name, state and requests in flight (for /health and the console).
    package func snapshot(now: Instant) -> [(name: String, state: State, inFlight: Int)] {
        accounts.map { account in
            var state = account.state
            if case .cooling(let until) = state, until <= now { state = .ok }
            return (account.name, state, account.inFlight)
        }
    }

    private mutating func cool(_ account: Int, for wait: Duration, now: Instant) {
        guard accounts[account].state != .disabled else { return }
        accounts[account].state = .cooling(until: now + wait)
    }

    private mutating func recover(now: Instant) {
        for index in accounts.indices {
            if case .cooling(let until) = accounts[index].state, until <= now { accounts[index].state = .ok }
        }
    }

    /// Cooling accounts (tried or not) will come back: say when the first does. Otherwise none can serve.
    private func nothingToChoose() -> Choice {
        let soonest = accounts.compactMap { account -> Instant? in
            if case .cooling(let until) = account.state { return until }
            return nil
        }.min()
        return soonest.map { .allCooling(until: $0) } ?? .noneUsable
    }
}

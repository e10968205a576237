import Testing

@testable import Providers

/// The pool's rules with time moved by hand (no clock, no sleeps).
@Suite struct AccountPoolTests {
    let t0 = ContinuousClock.now

    func pool(_ limits: [Int] = [0, 0, 0], strategy: AccountPool.Strategy = .roundRobin) -> AccountPool {
        AccountPool(accounts: limits.enumerated().map { ("a\($0.offset)", $0.element) }, strategy: strategy)
    }

    func picks(_ pool: inout AccountPool, _ count: Int, at now: ContinuousClock.Instant) -> [AccountPool.Choice] {
        (0..<count).map { _ in pool.choose(now: now) }
    }

    @Test func roundRobinTakesTurns() {
        var p = pool()
        #expect(picks(&p, 5, at: t0) == [.account(0), .account(1), .account(2), .account(0), .account(1)])
    }

    @Test func fillFirstStaysOnTheFirstUntilItIsFull() {
        var p = pool([1, 1], strategy: .fillFirst)
        #expect(p.choose(now: t0) == .account(0))
        p.started(0)
        #expect(p.choose(now: t0) == .account(1), "the first is at its limit")
        p.finished(0)
        #expect(p.choose(now: t0) == .account(0))
    }

    @Test func anAccountAtItsLimitIsSkippedWhileAnotherHasRoom() {
        var p = pool([1, 1, 1])
        p.started(1)
        #expect(picks(&p, 3, at: t0) == [.account(0), .account(2), .account(0)])
        p.started(0)
        p.started(2)
        // All full: one is still chosen, and the request waits in its line.
        if case .account = p.choose(now: t0) {} else { Issue.record("no account chosen when all are full") }
    }

    @Test func retryAfterCoolsForExactlyThatLong() {
        var p = pool([0, 0])
        p.failed(0, .rateLimited(retryAfter: .seconds(7)), now: t0)
        #expect(picks(&p, 2, at: t0 + .seconds(6)) == [.account(1), .account(1)])
        #expect(p.snapshot(now: t0)[0].state == .cooling(until: t0 + .seconds(7)))
        #expect(p.choose(now: t0 + .seconds(7)) == .account(0), "back when the time is up")
    }

    @Test func backoffDoublesToHalfAnHourAndASuccessResetsIt() {
        var p = pool([0])
        var now = t0
        var waits: [Duration] = []
        for _ in 0..<13 {
            p.failed(0, .rateLimited(retryAfter: nil), now: now)
            guard case .allCooling(let until) = p.choose(now: now) else {
                Issue.record("not cooling")
                return
            }
            waits.append(until - now)
            now = until
        }
        #expect(waits.prefix(6) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(32)])
        #expect(waits.last == .seconds(1800), "capped at 30 minutes")
        p.succeeded(0)
        p.failed(0, .rateLimited(retryAfter: nil), now: now)
        #expect(p.choose(now: now) == .allCooling(until: now + .seconds(1)), "a success starts the doubling over")
    }

    @Test func anUnavailableUpstreamCoolsAfterThreeInARow() {
        var p = pool([0, 0])
        p.failed(0, .unavailable, now: t0)
        p.failed(0, .unavailable, now: t0)
        p.succeeded(0)
        p.failed(0, .unavailable, now: t0)
        p.failed(0, .unavailable, now: t0)
        #expect(p.snapshot(now: t0)[0].state == .ok, "a success broke the run")
        p.failed(0, .unavailable, now: t0)
        #expect(p.snapshot(now: t0)[0].state == .cooling(until: t0 + .seconds(60)))
    }

    @Test func aRejectedAccountNeedsASignInAndIsNeverChosen() {
        var p = pool([0, 0])
        p.failed(1, .rejected, now: t0)
        #expect(picks(&p, 3, at: t0 + .seconds(86_400)) == [.account(0), .account(0), .account(0)])
        p.failed(0, .rejected, now: t0)
        #expect(p.choose(now: t0) == .noneUsable)
        p.signedIn(1)
        #expect(p.choose(now: t0) == .account(1))
    }

    @Test func allCoolingSaysWhenTheSoonestIsBack() {
        var p = pool([0, 0])
        p.failed(0, .rateLimited(retryAfter: .seconds(30)), now: t0)
        p.failed(1, .rateLimited(retryAfter: .seconds(5)), now: t0)
        #expect(p.choose(now: t0) == .allCooling(until: t0 + .seconds(5)))
    }

    @Test func failoverSkipsTheAccountsAlreadyTried() {
        var p = pool([0, 0, 0])
        #expect(p.choose(now: t0, excluding: [0]) == .account(1))
        #expect(p.choose(now: t0, excluding: [0, 1, 2]) == .exhausted, "tried them all; they still serve others")
        p.failed(2, .rateLimited(retryAfter: .seconds(3)), now: t0)
        #expect(p.choose(now: t0, excluding: [0, 1]) == .allCooling(until: t0 + .seconds(3)))
    }

    @Test func aSessionStaysOnItsAccountForAnHourWhileItIsOK() {
        var p = pool([0, 0, 0])
        let first = p.choose(now: t0, session: "s")
        #expect(picks(&p, 2, at: t0).count == 2)  // others move the rotation on
        #expect(p.choose(now: t0 + .seconds(3599), session: "s") == first)
        #expect(p.choose(now: t0) == .account(0))
        #expect(p.choose(now: t0 + .seconds(3601), session: "s") == .account(1), "after an hour the session rotates again")
        let cached = p.choose(now: t0, session: "c")
        guard case .account(let stuck) = cached else {
            Issue.record("no account")
            return
        }
        p.failed(stuck, .rateLimited(retryAfter: .seconds(10)), now: t0)
        #expect(p.choose(now: t0 + .seconds(1), session: "c") != cached, "a cooling account loses its sessions")
    }

    @Test func theOperatorDisablesAndClearsCooldowns() {
        var p = pool([0, 0])
        p.setDisabled(0, true)
        p.failed(0, .rateLimited(retryAfter: .seconds(9)), now: t0)
        #expect(p.snapshot(now: t0)[0].state == .disabled, "a disabled account stays disabled")
        #expect(picks(&p, 2, at: t0) == [.account(1), .account(1)])
        p.setDisabled(0, false)
        p.failed(1, .rateLimited(retryAfter: .seconds(60)), now: t0)
        p.clearCooldown(1)
        #expect(p.snapshot(now: t0).map(\.state) == [.ok, .ok])
    }

    @Test func aLimitForOneModelCoolsOnlyThatModel() {
        var p = pool([0, 0])
        p.failed(0, .rateLimited(retryAfter: .seconds(20), model: "big"), now: t0)
        #expect(picks(&p, 2, at: t0).count == 2)
        #expect(p.choose(now: t0, model: "big") == .account(1))
        #expect(p.choose(now: t0, model: "big") == .account(1), "account 0 still cools for this model")
        #expect(p.choose(now: t0, model: "small") == .account(0), "other models are not affected")
        p.failed(1, .rateLimited(retryAfter: .seconds(5), model: "big"), now: t0)
        #expect(p.choose(now: t0, model: "big") == .allCooling(until: t0 + .seconds(5)))
        #expect(p.choose(now: t0 + .seconds(5), model: "big") == .account(1))
    }

    @Test func addedAccountsJoinAndRemovedOnesLeave() {
        var p = pool([0])
        let added = p.add(name: "work", limit: 0)
        #expect(added == 1)
        #expect(picks(&p, 2, at: t0) == [.account(0), .account(1)])
        p.remove(0)
        #expect(picks(&p, 2, at: t0) == [.account(1), .account(1)])
        #expect(p.snapshot(now: t0).map(\.name) == ["work"])
        p.remove(1)
        #expect(p.choose(now: t0) == .noneUsable)
        #expect(p.add(name: "a0", limit: 0) == 0, "a name signed in again gets its old place")
    }

    @Test func sessionsAreBounded() {
        var p = pool([0, 0])
        for i in 0..<(AccountPool.affinityCapacity + 10) { _ = p.choose(now: t0, session: "s\(i)") }
        #expect(p.sessions <= AccountPool.affinityCapacity)
        let last = p.choose(now: t0, session: "fresh")
        #expect(p.choose(now: t0, session: "fresh") == last)
    }
}

import Foundation

/// When to refresh the iFlow sign-in (docs/protocols/iflow.md): when less than 24 h remain,
/// looked at every 15 min; transient failures retry after 30 s, doubling to
/// 5 min; `invalid_grant` stops until a new sign-in. Pure, so it is tested
/// without clocks.
package struct IFlowRefreshSchedule: Sendable, Equatable {
    package static let window: TimeInterval = 24 * 3600
    package static let checkInterval: TimeInterval = 15 * 60
    package static let firstBackoff: TimeInterval = 30
    package static let maxBackoff: TimeInterval = 300

    package private(set) var failures = 0
    package private(set) var needsSignIn = false

    package init() {}

    package enum Decision: Sendable, Equatable {
        case refresh
        case wait(TimeInterval)
    }

    package func decide(now: Date, expiry: Date?, hasRefreshToken: Bool) -> Decision {
        guard hasRefreshToken, !needsSignIn, let expiry else { return .wait(Self.checkInterval) }
        let remaining = expiry.timeIntervalSince(now)
        guard remaining < Self.window else { return .wait(min(Self.checkInterval, remaining - Self.window)) }
        return .refresh
    }

    /// After a failure: how long until the next try.
    package mutating func failedTransiently() -> TimeInterval {
        failures += 1
        return min(Self.firstBackoff * pow(2, Double(failures - 1)), Self.maxBackoff)
    }

    package mutating func succeeded() {
        failures = 0
        needsSignIn = false
    }

    package mutating func signInNeeded() {
        needsSignIn = true
    }
}

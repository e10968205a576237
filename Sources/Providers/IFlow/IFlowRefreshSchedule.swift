import Foundation

/// When to refresh the iFlow sign-in (docs/protocols/iflow.md): when less than 24 h remain,
/// looked at every 15 min; transient failures retry after 30 s, doubling to
/// 5 min; `invalid_grant` stops until a new sign-in. Pure, so it is tested
/// without clocks.
public struct IFlowRefreshSchedule: Sendable, Equatable {
    public static let window: TimeInterval = 24 * 3600
    public static let checkInterval: TimeInterval = 15 * 60
    public static let firstBackoff: TimeInterval = 30
    public static let maxBackoff: TimeInterval = 300

    public private(set) var failures = 0
    public private(set) var needsSignIn = false

    public init() {}

    public enum Decision: Sendable, Equatable {
        case refresh
        case wait(TimeInterval)
    }

    public func decide(now: Date, expiry: Date?, hasRefreshToken: Bool) -> Decision {
        guard hasRefreshToken, !needsSignIn, let expiry else { return .wait(Self.checkInterval) }
        let remaining = expiry.timeIntervalSince(now)
        guard remaining < Self.window else { return .wait(min(Self.checkInterval, remaining - Self.window)) }
        return .refresh
    }

    /// After a failure: how long until the next try.
    public mutating func failedTransiently() -> TimeInterval {
        failures += 1
        return min(Self.firstBackoff * pow(2, Double(failures - 1)), Self.maxBackoff)
    }

    public mutating func succeeded() {
        failures = 0
        needsSignIn = false
    }

    public mutating func signInNeeded() {
        needsSignIn = true
    }
}

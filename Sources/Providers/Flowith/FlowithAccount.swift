import Foundation
import Synchronization

/// One Flowith account: its current token (renewed in place) and refresh token.
final class FlowithAccount: Sendable {
    struct Tokens: Sendable {
        var access: String
        var refresh: String?
        var expiry: Date?
    }

    let tokens: Mutex<Tokens>
    /// One renewal at a time; the others wait for its result.
    let renewal = SingleFlight<Void>()

    init(token: String, refreshToken: String?) {
        self.tokens = Mutex(Tokens(access: token, refresh: refreshToken, expiry: FlowithToken.expiry(of: token)))
    }

    var snapshot: Tokens { tokens.withLock { $0 } }
}

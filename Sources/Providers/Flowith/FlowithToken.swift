import Foundation
import OpenAIWire

/// docs/protocols/flowith.md: the Flowith token is a Supabase JWT that lives about an hour. Its
/// `exp` claim says when; this reads it without verifying (we are its holder,
/// not its judge).
package enum FlowithToken {
    /// Expiry of a JWT (with or without `Bearer `), nil when it is not a JWT with `exp`.
    package static func expiry(of token: String) -> Date? {
        let raw = token.hasPrefix("Bearer ") ? String(token.dropFirst(7)) : token
        let parts = raw.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = base64URLDecode(String(parts[1])),
            let exp = (try? JSONCoding.decode(payload))?["exp"]?.numberValue
        else { return nil }
        return Date(timeIntervalSince1970: exp)
    }

    /// One answer for the console, /health and `flowgate check`.
    package enum State: String, Sendable {
        case ok
        /// Less than 10 minutes left and no refresh token to renew it.
        case expiring
        /// Past its expiry and no refresh token: the upstream will refuse it.
        case expired
    }

    package static let expiringWithin: TimeInterval = 600

    package static func state(expiry: Date?, canRenew: Bool, now: Date) -> State {
        guard let expiry, !canRenew else { return .ok }
        if expiry <= now { return .expired }
        return expiry.timeIntervalSince(now) < expiringWithin ? .expiring : .ok
    }

    /// What to do about a token that is not a JWT, or has run out.
    package static let howToGetOne =
        "copy a fresh one from the Flowith web app (signed in at flowith.net: the browser's developer tools, "
        + "Application → Local Storage, the Supabase auth entry's access_token; its refresh_token renews it), "
        + "then set FLOWITH_AUTH_TOKEN (and FLOWITH_REFRESH_TOKEN)"

    static func base64URLDecode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

}

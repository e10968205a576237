import Foundation
import OpenAIWire

/// SPEC 4.2: the Flowith token is a Supabase JWT that lives about an hour. Its
/// `exp` claim says when; this reads it without verifying (we are its holder,
/// not its judge).
public enum FlowithToken {
    /// Expiry of a JWT (with or without `Bearer `), nil when it is not a JWT with `exp`.
    public static func expiry(of token: String) -> Date? {
        let raw = token.hasPrefix("Bearer ") ? String(token.dropFirst(7)) : token
        let parts = raw.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = base64URLDecode(String(parts[1])),
            let exp = (try? JSONCoding.decode(payload))?["exp"]?.numberValue
        else { return nil }
        return Date(timeIntervalSince1970: exp)
    }

    static func base64URLDecode(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

}

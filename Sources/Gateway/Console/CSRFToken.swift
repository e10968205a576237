import Foundation

/// The token the console's forms carry (docs/security.md): another site can make a
/// browser post to this server, but cannot read the console to learn the token.
/// One random value per process; compared in constant time.
struct CSRFToken: Sendable {
    let value: String

    init() {
        // SystemRandomNumberGenerator reads the kernel's CSPRNG.
        var generator = SystemRandomNumberGenerator()
        value = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    func matches(_ presented: String?) -> Bool {
        guard let presented else { return false }
        return ClientKey.constantTimeEquals(Array(value.utf8), presented.utf8)
    }
}

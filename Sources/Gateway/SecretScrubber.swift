import OpenAIWire
import Providers

/// Removes every upstream credential from what is shown to a client or written to a
/// log (docs/security.md): an upstream may echo the key it was sent in its error text,
/// and a key may hold characters (CR, LF) that split it. Runs only on errors.
struct SecretScrubber: Sendable {
    let live: LiveProviders

    /// Shorter pieces are not worth hiding (and would mangle ordinary words).
    static let shortest = 6
    static let replacement = "[redacted]"

    func scrub(_ error: GatewayError) -> GatewayError {
        var error = error
        error.message = scrub(error.message)
        return error
    }

    func scrub(_ text: String) -> String {
        Self.scrub(text, secrets: live.current.providers.flatMap { $0.secrets() })
    }

    static func scrub(_ text: String, secrets: [String]) -> String {
        var text = text
        for secret in secrets {
            // The whole secret first, then each piece between blanks and line breaks.
            let pieces = [secret] + secret.split(whereSeparator: { $0.isWhitespace || $0.isNewline }).map(String.init)
            // A byte search first (an upstream echoes a key as it was sent): most error texts hold
            // no secret, and Foundation's replace cost 37k instructions even when it found nothing.
            for piece in pieces where piece.count >= shortest && text.containsBytes(piece) {
                text = text.replacingOccurrences(of: piece, with: replacement)
            }
        }
        return text
    }
}

import Crypto
import Foundation

/// The `signature` of a thinking block: flowgate's own opaque string (a digest of the
/// thinking), so clients that insist on one get one. A signature coming back in the
/// history is accepted as it is and never sent upstream (docs/protocols/anthropic-messages.md).
enum ThinkingSignature {
    static func of(_ thinking: String) -> String {
        "flowgate." + Data(SHA256.hash(data: Array(thinking.utf8))).base64EncodedString()
    }
}

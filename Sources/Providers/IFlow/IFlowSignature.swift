import Crypto
import Foundation

/// docs/protocols/iflow.md: `x-iflow-signature = hex(HMAC-SHA256(key: apiKey,
/// message: "iFlow-Cli:" + sessionId + ":" + timestampMs))`; the body is not signed.
package struct IFlowSignature: Sendable {
    package let apiKey: String
    /// Keyed once: setting up the HMAC key costs more than signing a message.
    private let keyed: HMAC<SHA256>

    package init(apiKey: String) {
        self.apiKey = apiKey
        self.keyed = HMAC<SHA256>(key: SymmetricKey(data: Array(apiKey.utf8)))
    }

    package func sign(sessionID: String, timestampMs: Int64) -> String {
        var mac = keyed
        mac.update(data: Array("iFlow-Cli:\(sessionID):\(timestampMs)".utf8))
        return Hex.encode(mac.finalize())
    }

    package static func sign(apiKey: String, sessionID: String, timestampMs: Int64) -> String {
        IFlowSignature(apiKey: apiKey).sign(sessionID: sessionID, timestampMs: timestampMs)
    }
}

enum Hex {
    private static let digits: StaticString = "0123456789abcdef"

    static func encode(_ bytes: some ContiguousBytes) -> String {
        bytes.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                digits.withUTF8Buffer { digits in
                    for (position, byte) in bytes.enumerated() {
                        out[2 * position] = digits[Int(byte >> 4)]
                        out[2 * position + 1] = digits[Int(byte & 0x0f)]
                    }
                    return bytes.count * 2
                }
            }
        }
    }
}

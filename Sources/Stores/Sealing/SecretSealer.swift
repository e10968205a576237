import Crypto
import Foundation

/// Seals credentials at rest with AES-GCM (docs/security.md, "The state store"): what is stored
/// is `v1:` and the base64 of nonce, ciphertext and tag; nothing of the clear text shows.
package struct SecretSealer: Sendable {
    private let key: SymmetricKey

    package init(key: SymmetricKey) {
        self.key = key
    }

    package func seal(_ clear: Data) throws -> String {
        guard let combined = try AES.GCM.seal(clear, using: key).combined else { throw SealError.sealFailed }
        return "v1:" + combined.base64EncodedString()
    }

    package func open(_ sealed: String) throws -> Data {
        guard sealed.hasPrefix("v1:"), let combined = Data(base64Encoded: String(sealed.dropFirst(3))) else {
            throw SealError.notSealed
        }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key)
        } catch {
            throw SealError.wrongKey
        }
    }

    package enum SealError: Error, CustomStringConvertible {
        case sealFailed
        case notSealed
        case wrongKey

        package var description: String {
            switch self {
            case .sealFailed: "sealing failed"
            case .notSealed: "a stored credential is not sealed in a known format"
            case .wrongKey: "a stored credential does not open with this FLOWGATE_SECRET_KEY (was the key changed?)"
            }
        }
    }
}

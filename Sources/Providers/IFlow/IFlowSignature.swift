import Crypto

/// SPEC 4.1: `x-iflow-signature = hex(HMAC-SHA256(key: apiKey,
/// message: "iFlow-Cli:" + sessionId + ":" + timestampMs))`; the body is not signed.
public enum IFlowSignature {
    public static func sign(apiKey: String, sessionID: String, timestampMs: Int64) -> String {
        let key = SymmetricKey(data: Array(apiKey.utf8))
        let message = Array("iFlow-Cli:\(sessionID):\(timestampMs)".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: key)
        return Hex.encode(mac)
    }
}

enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

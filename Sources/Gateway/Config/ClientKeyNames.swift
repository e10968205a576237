import Crypto
import OpenAIWire

/// How usage and logs name a client key (docs/configuration.md, `api_keys`): the name given in
/// `api_keys` (`{name: alice, key: sk-…}`), else `key-` and 8 hex digits of the key's SHA-256,
/// which stays the same when the list is reordered and tells nothing about the key.
enum ClientKeyNames {
    static func derived(from key: String) -> String {
        "key-" + SHA256.hash(data: Array(key.utf8)).prefix(4).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Letters, digits, `-`, `_`, `.` and `@`, 1 to 64: safe in a log line, a label and a URL.
    static func isValid(_ name: String) -> Bool {
        PlainName.isPlain(name, length: 1...64, also: "-_.@")
    }
}

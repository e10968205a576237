import Foundation

/// Checks every provider kind applies the same way.
package enum ConfigChecks {
    package static func url(_ text: String, origin: String) throws(ConfigError) {
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ConfigError("\(origin) must be an http(s) URL, got '\(text)'.")
        }
    }

    /// `~` and `~/…` are the user's home.
    package static func expandHome(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst(1) }
        return path
    }

    package static func commaSeparated(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

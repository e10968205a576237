import Foundation

/// Random ids with a prefix (`msg_…`, `toolu_…`, `resp_…`, `fc_…`): 24 alphanumerics, as Anthropic's and OpenAI's look.
package enum MessageID {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    package static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + String(decoding: (0..<24).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
    }

    /// A tool call's id as Anthropic clients see it: the upstream's with `toolu_` in front (the same
    /// id comes back in `tool_result` and goes upstream unchanged), or a new one.
    static func toolUse(_ upstream: String?) -> String {
        upstream.map { $0.hasPrefix("toolu_") ? $0 : "toolu_" + $0 } ?? make(prefix: "toolu_")
    }
}

import OpenAIWire

/// Ids and timestamps the gateway puts on responses when the upstream gives none.
package enum CompletionID {
    package static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let a = generator.next() as UInt64
        let b = generator.next() as UInt32
        return "chatcmpl-" + String(a, radix: 16) + String(b, radix: 16)
    }
}

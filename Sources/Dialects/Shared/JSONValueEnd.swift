/// Follows JSON text piece by piece and tells when one whole value has been seen: a
/// tool call's arguments are complete once their object closes, so the next call's
/// block can open without cutting this one short (docs/protocols/anthropic-messages.md, "Streaming").
struct JSONValueEnd: Sendable, Equatable {
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var started = false
    private var closed = false

    var isComplete: Bool { closed }

    mutating func feed(_ text: String) {
        for byte in text.utf8 where !closed {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { closed = true }
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                started = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth <= 0 && started { closed = true }
            case UInt8(ascii: "\""):
                inString = true
                started = true
            default:
                break
            }
        }
    }
}

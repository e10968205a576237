/// The `chat.completion.chunk` nearly every stream event is: one choice (index 0) whose delta
/// holds only text (`content`, `reasoning_content`, `role`), no finish, no usage. A strict
/// scanner recognises it in the event's bytes without building a JSON tree, so the OpenAI
/// dialect can forward the text as written and only rewrite the frame around it
/// (docs/performance.md, "Streams: text forwarded as written"). Anything else, including
/// another field, a duplicate key, an escaped surrogate or invalid UTF-8, is not recognised
/// and goes to the JSON parser.
package struct TextDeltaChunk: Sendable, Equatable {
    /// A string or `null` as the upstream wrote it.
    package struct Text: Sendable, Equatable {
        /// Where it is in `bytes`: a string with its quotes, or `null`.
        package let range: Range<Int>
        package let isNull: Bool
        /// It holds a backslash escape (decoding it needs the parser).
        package let escaped: Bool
        /// The Unicode scalars it decodes to.
        package let scalars: Int

        /// Null or `""`: nothing to forward.
        package var isEmpty: Bool { isNull || range.count == 2 }
    }

    /// The event's bytes; the ranges point into them.
    package let bytes: [UInt8]
    package let content: Text?
    package let reasoning: Text?
    /// `system_fingerprint` and `service_tier` as written (a string or `null`).
    package let systemFingerprint: Range<Int>?
    package let serviceTier: Range<Int>?

    /// Nil unless `bytes` is exactly a chunk of this shape.
    package init?(_ bytes: [UInt8]) {
        guard let fields = bytes.withUnsafeBufferPointer({ buffer -> Fields? in
            var scanner = Scanner(bytes: buffer)
            return scanner.chunk()
        }) else { return nil }
        self.bytes = bytes
        content = fields.content
        reasoning = fields.reasoning
        systemFingerprint = fields.systemFingerprint
        serviceTier = fields.serviceTier
    }

    /// The chunk parsed whole, for readers without a byte-level path (it parses: the scanner checked it).
    package var object: JSONObject {
        (try? JSONParser.parse(bytes))?.objectValue ?? [:]
    }

    /// A text's value (nil for `null`).
    package func string(_ text: Text?) -> String? {
        guard let text, !text.isNull else { return nil }
        let inner = text.range.lowerBound + 1..<text.range.upperBound - 1
        guard text.escaped else { return String(decoding: bytes[inner], as: UTF8.self) }
        return (try? JSONParser.parse(Array(bytes[text.range])))?.stringValue
    }

    /// A raw value (`systemFingerprint`, `serviceTier`) as JSON.
    package func json(_ range: Range<Int>) -> JSON {
        (try? JSONParser.parse(Array(bytes[range]))) ?? .null
    }

    fileprivate struct Fields {
        var content: Text?
        var reasoning: Text?
        var systemFingerprint: Range<Int>?
        var serviceTier: Range<Int>?
    }
}

/// Reads the one shape `TextDeltaChunk` describes; every method answers nil or false at the
/// first byte that does not fit it.
private struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func chunk() -> TextDeltaChunk.Fields? {
        var fields = TextDeltaChunk.Fields()
        var seen = Keys()
        var choices = false
        let matched = object { scanner, key in
            switch key {
            case .id, .object, .model:
                return seen.insert(key) && scanner.string() != nil
            case .created:
                return seen.insert(key) && scanner.integer()
            case .usage:
                return seen.insert(key) && scanner.null()
            case .systemFingerprint:
                guard seen.insert(key), let value = scanner.stringOrNull() else { return false }
                fields.systemFingerprint = value.range
                return true
            case .serviceTier:
                guard seen.insert(key), let value = scanner.stringOrNull() else { return false }
                fields.serviceTier = value.range
                return true
            case .choices:
                guard seen.insert(key), scanner.take(UInt8(ascii: "[")), scanner.choice(&fields),
                    scanner.take(UInt8(ascii: "]"))
                else { return false }
                choices = true
                return true
            default:
                return false
            }
        }
        skipSpace()
        guard matched, choices, index == bytes.count, fields.content != nil || fields.reasoning != nil else { return nil }
        return fields
    }

    /// `{"index":0,"delta":{…},"finish_reason":null,"logprobs":null}`, index and the nulls optional.
    private mutating func choice(_ fields: inout TextDeltaChunk.Fields) -> Bool {
        var seen = Keys()
        var delta = false
        let matched = object { scanner, key in
            switch key {
            case .index:
                return seen.insert(key) && scanner.zero()
            case .finishReason, .logprobs:
                return seen.insert(key) && scanner.null()
            case .delta:
                guard seen.insert(key), scanner.delta(&fields) else { return false }
                delta = true
                return true
            default:
                return false
            }
        }
        return matched && delta
    }

    private mutating func delta(_ fields: inout TextDeltaChunk.Fields) -> Bool {
        var seen = Keys()
        return object { scanner, key in
            switch key {
            case .role:
                return seen.insert(key) && scanner.stringOrNull() != nil
            case .content:
                guard seen.insert(key), let text = scanner.stringOrNull() else { return false }
                fields.content = text
                return true
            case .reasoningContent:
                guard seen.insert(key), let text = scanner.stringOrNull() else { return false }
                fields.reasoning = text
                return true
            default:
                return false
            }
        }
    }

    /// An object whose every member `member` accepts (it reads the value after the colon).
    private mutating func object(_ member: (inout Scanner, Key) -> Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        if take(UInt8(ascii: "}")) { return true }
        repeat {
            skipSpace()
            guard let key = key(), take(UInt8(ascii: ":")) else { return false }
            skipSpace()
            guard member(&self, key) else { return false }
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}"))
    }

    /// A member name this shape knows, without escapes.
    private mutating func key() -> Key? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        index = end + 1
        return Key(UnsafeBufferPointer(rebasing: bytes[start..<end]))
    }

    /// Skips whitespace, then takes `byte` if it is next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func null() -> Bool {
        guard bytes.count - index >= 4, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
            bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l")
        else { return false }
        index += 4
        return true
    }

    private mutating func zero() -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "0") else { return false }
        index += 1
        return integerEnds()
    }

    /// An integer that fits in 64 bits (a fraction or exponent is left to the parser).
    private mutating func integer() -> Bool {
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let digits = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        let count = index - digits
        guard count > 0, count < 19, count == 1 || bytes[digits] != UInt8(ascii: "0") else { return false }
        return integerEnds()
    }

    /// No digit, fraction or exponent follows.
    private func integerEnds() -> Bool {
        guard index < bytes.count else { return true }
        let byte = bytes[index]
        return !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) && byte != UInt8(ascii: ".")
            && byte | 0x20 != UInt8(ascii: "e")
    }

    private mutating func stringOrNull() -> TextDeltaChunk.Text? {
        let start = index
        if null() { return TextDeltaChunk.Text(range: start..<index, isNull: true, escaped: false, scalars: 0) }
        return string()
    }

    /// A JSON string the parser would read the same way: valid UTF-8, no control characters,
    /// known escapes, no escaped surrogates (the parser repairs those; this leaves them to it).
    private mutating func string() -> TextDeltaChunk.Text? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index
        var i = index + 1
        var scalars = 0
        var escaped = false
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                index = i + 1
                return TextDeltaChunk.Text(range: start..<index, isNull: false, escaped: escaped, scalars: scalars)
            }
            scalars += 1
            if byte < 0x20 { return nil }
            if byte < 0x80 {
                if byte == UInt8(ascii: "\\") {
                    guard let length = escape(at: i) else { return nil }
                    escaped = true
                    i += length
                } else {
                    i += 1
                }
                continue
            }
            guard let length = utf8Scalar(at: i) else { return nil }
            i += length
        }
        return nil
    }

    /// The length of the escape at `i` (a backslash), nil if the parser would reject it or repair it.
    private func escape(at i: Int) -> Int? {
        guard i + 1 < bytes.count else { return nil }
        switch bytes[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return 2
        case UInt8(ascii: "u"):
            guard i + 6 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[i + 2..<i + 6] {
                guard let digit = Self.hex(byte) else { return nil }
                value = value << 4 | digit
            }
            return (0xD800...0xDFFF).contains(value) ? nil : 6
        default:
            return nil
        }
    }

    private static func hex(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// The length of the well-formed UTF-8 sequence at `i` (RFC 3629: no overlong forms, no
    /// surrogates, nothing above U+10FFFF), nil if it is not one.
    private func utf8Scalar(at i: Int) -> Int? {
        let lead = bytes[i]
        let length: Int
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; second = 0xA0...0xBF
        case 0xED: length = 3; second = 0x80...0x9F
        case 0xE1...0xEF: length = 3
        case 0xF0: length = 4; second = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; second = 0x80...0x8F
        default: return nil
        }
        guard i + length <= bytes.count, second.contains(bytes[i + 1]) else { return nil }
        for k in 2..<length where !(0x80...0xBF).contains(bytes[i + k]) { return nil }
        return length
    }
}

/// The member names the shape knows, told apart by length, then bytes (a `switch` over
/// strings cost more than the rest of the scan).
private enum Key: Int {
    case id, object, created, model, usage, systemFingerprint, serviceTier, choices
    case index, finishReason, logprobs, delta, role, content, reasoningContent

    init?(_ name: UnsafeBufferPointer<UInt8>) {
        let key: Key?
        switch name.count {
        case 2: key = KnownStrings.same(name, "id") ? .id : nil
        case 4: key = KnownStrings.same(name, "role") ? .role : nil
        case 5:
            key = KnownStrings.same(name, "index") ? .index : KnownStrings.same(name, "delta") ? .delta
                : KnownStrings.same(name, "model") ? .model : KnownStrings.same(name, "usage") ? .usage : nil
        case 6: key = KnownStrings.same(name, "object") ? .object : nil
        case 7:
            key = KnownStrings.same(name, "content") ? .content : KnownStrings.same(name, "choices") ? .choices
                : KnownStrings.same(name, "created") ? .created : nil
        case 8: key = KnownStrings.same(name, "logprobs") ? .logprobs : nil
        case 12: key = KnownStrings.same(name, "service_tier") ? .serviceTier : nil
        case 13: key = KnownStrings.same(name, "finish_reason") ? .finishReason : nil
        case 17: key = KnownStrings.same(name, "reasoning_content") ? .reasoningContent : nil
        case 18: key = KnownStrings.same(name, "system_fingerprint") ? .systemFingerprint : nil
        default: key = nil
        }
        guard let key else { return nil }
        self = key
    }
}

/// The members an object had so far: a second one of a name is not this shape.
private struct Keys {
    private var bits: UInt32 = 0

    mutating func insert(_ key: Key) -> Bool {
        let bit: UInt32 = 1 << key.rawValue
        defer { bits |= bit }
        return bits & bit == 0
    }
}

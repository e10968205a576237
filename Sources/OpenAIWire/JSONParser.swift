import NIOCore

/// Parses JSON bytes straight into `JSON` values. Foundation's decoder goes through
/// Codable, which for an untyped value costs a thrown error per guessed type; this
/// is the hot path of every request and every stream event. Strict RFC 8259, with
/// a nesting limit so no input can exhaust the stack, and a limit on the number of
/// values so a body of many tiny values (`[0,0,0,…]`, 60 bytes of memory each) cannot
/// take a gigabyte (docs/security.md).
package struct JSONParser {
    package struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        package let message: String
        package let offset: Int
        package var description: String { "\(message) at byte \(offset)" }
    }

    package static let maxDepth = 512
    /// Far above any real chat request (a long agent conversation holds some thousands).
    package static let maxValues = 500_000

    package static func parse(_ buffer: ByteBuffer) throws(Error) -> JSON {
        try buffer.withUnsafeReadableBytes { bytes in Result { () throws(Error) in try parse(bytes) } }.get()
    }

    package static func parse(_ bytes: [UInt8]) throws(Error) -> JSON {
        try bytes.withUnsafeBytes { bytes in Result { () throws(Error) in try parse(bytes) } }.get()
    }

    package static func parse(_ bytes: UnsafeRawBufferPointer, maxValues: Int = maxValues) throws(Error) -> JSON {
        var parser = JSONParser(bytes: bytes, valuesLeft: maxValues)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("Unexpected data after the JSON value") }
        return value
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var valuesLeft: Int

    private init(bytes: UnsafeRawBufferPointer, valuesLeft: Int) {
        self.bytes = bytes
        self.valuesLeft = valuesLeft
    }

    private func error(_ message: String) -> Error {
        Error(message: message, offset: index)
    }

    private var atEnd: Bool { index >= bytes.count }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(Error) -> JSON {
        guard !atEnd else { throw error("Unexpected end of JSON") }
        valuesLeft -= 1
        guard valuesLeft >= 0 else { throw error("JSON holds too many values") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("Unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSON) throws(Error) -> JSON {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("Unexpected end of JSON") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw error("Invalid literal")
        }
        index += count
        return value
    }

    private mutating func parseObject(depth: Int) throws(Error) -> JSONObject {
        guard depth <= Self.maxDepth else { throw error("JSON is nested too deeply") }
        index += 1  // {
        var fields: [JSONObject.Field] = []
        // Duplicate keys (last wins) are found by scanning small objects, by a set for large
        // ones, so a hostile object with many keys cannot make parsing quadratic.
        var seen: Set<String>? = nil
        skipWhitespace()
        if !atEnd && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return JSONObject(uniqueFields: fields)
        }
        // Room for a typical chat object's fields at once, instead of growing 1, 2, 4, 8.
        fields.reserveCapacity(4)
        while true {
            skipWhitespace()
            guard !atEnd, bytes[index] == UInt8(ascii: "\"") else { throw error("Expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard !atEnd, bytes[index] == UInt8(ascii: ":") else { throw error("Expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if fields.count >= 16 && seen == nil { seen = Set(fields.map(\.key)) }
            let duplicate = seen.map { $0.contains(key) } ?? fields.contains { JSONObject.same($0.key, key) }
            if duplicate, let position = fields.firstIndex(where: { JSONObject.same($0.key, key) }) {
                fields[position].value = value
            } else {
                fields.append(JSONObject.Field(key: key, value: value))
                seen?.insert(key)
            }
            skipWhitespace()
            guard !atEnd else { throw error("Unexpected end of JSON") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return JSONObject(uniqueFields: fields)
            default: throw error("Expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(Error) -> [JSON] {
        guard depth <= Self.maxDepth else { throw error("JSON is nested too deeply") }
        index += 1  // [
        var items: [JSON] = []
        skipWhitespace()
        if !atEnd && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return items
        }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            guard !atEnd else { throw error("Unexpected end of JSON") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return items
            default: throw error("Expected ',' or ']'")
            }
        }
    }

    private mutating func parseString() throws(Error) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes.
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index]).assumingMemoryBound(to: UInt8.self)
                index += 1
                // Plain ASCII needs no validation (the generic validating initialiser is slow);
                // the names every chat chunk repeats are not made again at all.
                if ascii { return KnownStrings.match(slice) ?? String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw Error(message: "Invalid UTF-8 in string", offset: start)
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("Control character in string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard index < bytes.count else { throw error("Unterminated string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: out, as: UTF8.self) else {
                    throw Error(message: "Invalid UTF-8 in string", offset: start)
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("Unterminated string") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): appendUTF8(try parseUnicodeEscape(), to: &out)
                default: throw error("Invalid escape")
                }
            case 0..<0x20:
                throw error("Control character in string")
            default:
                out.append(byte)
                index += 1
            }
        }
    }

    /// `\uXXXX`, joining surrogate pairs; a lone surrogate becomes U+FFFD.
    private mutating func parseUnicodeEscape() throws(Error) -> UInt32 {
        let high = try hex4()
        guard (0xD800..<0xDC00).contains(high) else {
            return (0xDC00..<0xE000).contains(high) ? 0xFFFD : high
        }
        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
            return 0xFFFD
        }
        let save = index
        index += 2
        let low = try hex4()
        guard (0xDC00..<0xE000).contains(low) else {
            index = save
            return 0xFFFD
        }
        return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    }

    private mutating func hex4() throws(Error) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("Invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("Invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        out.append(contentsOf: UTF8.encode(unicode)!)
    }

    private mutating func parseNumber() throws(Error) -> JSON {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard let first = atEnd ? nil : bytes[index], (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw error("Invalid number")
        }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            skipDigits()
        }
        if !atEnd && bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard skipDigits() > 0 else { throw error("Invalid number") }
        }
        if !atEnd && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if !atEnd && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            guard skipDigits() > 0 else { throw error("Invalid number") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .int(integer) }
        guard let double = Double(text), double.isFinite else {
            throw Error(message: "Number out of range", offset: start)
        }
        return .double(double)
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }
}

import Foundation
import NIOCore

/// A JSON value that keeps every field a client or upstream sent, so unknown
/// vendor fields pass through untouched while the gateway edits the few it must.
package enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)
}

extension JSON {
    package var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    package var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    package var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
    package var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }
    /// Integers, and doubles that hold a whole number (some clients send `1.0`).
    package var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9e15: return Int64(d)
        default: return nil
        }
    }
    package var numberValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    package var isNull: Bool { self == .null }

    /// The name of the JSON type, for error messages.
    package var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    package subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    package init(stringLiteral value: String) { self = .string(value) }
    package init(integerLiteral value: Int64) { self = .int(value) }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(floatLiteral value: Double) { self = .double(value) }
    package init(arrayLiteral elements: JSON...) { self = .array(elements) }
    package init(dictionaryLiteral elements: (String, JSON)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
    package init(nilLiteral: ()) { self = .null }
}

/// Decoding and encoding in one place, so every part reads and writes JSON the same way.
package enum JSONCoding {
    package static func decode(_ bytes: ByteBuffer) throws(JSONParser.Error) -> JSON {
        try JSONParser.parse(bytes)
    }

    package static func decode(_ bytes: [UInt8]) throws(JSONParser.Error) -> JSON {
        try JSONParser.parse(bytes)
    }

    package static func decode(_ data: Data) throws(JSONParser.Error) -> JSON {
        try data.withUnsafeBytes { bytes in Result { () throws(JSONParser.Error) in try JSONParser.parse(bytes) } }
            .get()
    }

    package static func buffer(_ value: JSON) -> ByteBuffer {
        var buffer = ByteBuffer()
        JSONWriter.write(value, into: &buffer)
        return buffer
    }

    package static func buffer(_ object: JSONObject) -> ByteBuffer {
        buffer(.object(object))
    }

    package static func string(_ value: JSON) -> String {
        String(buffer: buffer(value))
    }
}

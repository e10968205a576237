import NIOCore

/// Writes `JSON` values as compact JSON bytes (the counterpart of `JSONParser`).
public enum JSONWriter {
    public static func write(_ value: JSON, into buffer: inout ByteBuffer) {
        switch value {
        case .null: buffer.writeStaticString("null")
        case .bool(let b): buffer.writeStaticString(b ? "true" : "false")
        case .int(let i): buffer.writeString(String(i))
        case .double(let d):
            // JSON has no infinities or NaN; the parser never produces them.
            if d.isFinite { buffer.writeString(d.description) } else { buffer.writeStaticString("null") }
        case .string(let s): writeString(s, into: &buffer)
        case .array(let items):
            buffer.writeInteger(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                write(item, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let object):
            buffer.writeInteger(UInt8(ascii: "{"))
            var first = true
            for (key, item) in object {
                if !first { buffer.writeInteger(UInt8(ascii: ",")) }
                first = false
                writeString(key, into: &buffer)
                buffer.writeInteger(UInt8(ascii: ":"))
                write(item, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for (position, byte) in utf8.enumerated() where byte == 0x22 || byte == 0x5C || byte < 0x20 {
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[runStart..<position]))
                runStart = position + 1
                switch byte {
                case 0x22: buffer.writeStaticString("\\\"")
                case 0x5C: buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                default:
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hexDigits[Int(byte >> 4)])
                    buffer.writeInteger(hexDigits[Int(byte & 0x0F)])
                }
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(utf8)[runStart...]))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}

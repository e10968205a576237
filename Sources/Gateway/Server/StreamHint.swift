import Foundation

/// Whether a request body asks for a stream (`"stream": true` at any depth), read from its
/// bytes without parsing them. Only a hint for where the route runs (`GatewayHTTPChannel`):
/// a wrong guess costs a little speed or memory, never a different answer.
enum StreamHint {
    /// `"stream"` and `true` as their bytes load from memory, so each compare is one integer's.
    private static let key = loaded(#""stream""#, as: UInt64.self)
    private static let trueValue = loaded("true", as: UInt32.self)

    static func asksForStream(_ body: UnsafeRawBufferPointer) -> Bool {
        guard let base = body.baseAddress else { return false }
        let count = body.count
        var offset = 0
        // Each quote (memchr finds them) that can start the key.
        while offset + 8 <= count, let quote = memchr(base + offset, 0x22, count - offset - 7) {
            let start = base.distance(to: UnsafeRawPointer(quote))
            offset = start + 1
            guard body.loadUnaligned(fromByteOffset: start, as: UInt64.self) == key else { continue }
            var index = skippingSpace(body, from: start + 8)
            guard index < count, body[index] == UInt8(ascii: ":") else { continue }
            index = skippingSpace(body, from: index + 1)
            if index + 4 <= count, body.loadUnaligned(fromByteOffset: index, as: UInt32.self) == trueValue {
                return true
            }
        }
        return false
    }

    private static func skippingSpace(_ body: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index < body.count {
            switch body[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return index
            }
        }
        return index
    }

    private static func loaded<Value: FixedWidthInteger>(_ text: String, as: Value.Type) -> Value {
        var value = Value.zero
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: text.utf8) }
        return value
    }
}

import Foundation
import OpenAIWire

/// How `RequestRecord`s are kept in the `usage_request_batches` table (docs/architecture.md,
/// "Usage"): one row per write, its records as one JSON array of arrays, each inner array a
/// record's values in the order of `columns` (`forEachValue`, the one place that order is
/// written). One row of a few text values costs the database a fraction of a row per record
/// (docs/performance.md, "Usage records in batches").
enum RequestRecordRows {
    static let columns = [
        "time_ms", "request_id", "client_key", "dialect", "provider", "account", "model", "upstream_model", "stream",
        "status", "error_code", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens", "estimated",
        "first_byte_us", "total_us", "overhead_us",
    ]

    enum Value {
        case text(String)
        case integer(Int64)
    }

    /// A record's values, in the order of `columns`.
    @inline(__always)
    static func forEachValue(of record: RequestRecord, _ body: (Value) -> Void) {
        body(.integer(record.time.milliseconds))
        body(.text(record.requestID))
        body(.text(record.clientKey))
        body(.text(record.dialect))
        body(.text(record.provider))
        body(.text(record.account))
        body(.text(record.model))
        body(.text(record.upstreamModel))
        body(.integer(record.stream ? 1 : 0))
        body(.integer(Int64(record.status)))
        body(.text(record.errorCode))
        body(.integer(Int64(record.promptTokens)))
        body(.integer(Int64(record.completionTokens)))
        body(.integer(Int64(record.reasoningTokens)))
        body(.integer(Int64(record.cachedTokens)))
        body(.integer(record.estimated ? 1 : 0))
        body(.integer(record.firstByteMicros))
        body(.integer(record.totalMicros))
        body(.integer(record.overheadMicros))
    }

    /// `[[time_ms, "request id", …], …]`: a batch's `records`.
    static func json(_ records: [RequestRecord]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.count * 200)
        bytes.append(UInt8(ascii: "["))
        for (position, record) in records.enumerated() {
            if position > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "["))
            var first = true
            forEachValue(of: record) { value in
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                switch value {
                case .text(let text): JSONWriter.writeString(text, into: &bytes)
                case .integer(let number): JSONWriter.writeInteger(number, into: &bytes)
                }
            }
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    struct MalformedBatch: Error, CustomStringConvertible {
        let reason: String
        var description: String { "a stored batch of request records is malformed: \(reason)" }
    }

    /// A batch's `records` read back (written by `json`, or by the migration from rows).
    static func records(_ text: String) throws -> [RequestRecord] {
        let parsed: JSON
        do { parsed = try JSONCoding.decode(Array(text.utf8)) } catch { throw MalformedBatch(reason: "\(error)") }
        guard let rows = parsed.arrayValue else { throw MalformedBatch(reason: "not an array") }
        return try rows.map(record)
    }

    /// Where each column's value sits in a stored record.
    private static let positions = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })

    private static func record(_ row: JSON) throws -> RequestRecord {
        guard let values = row.arrayValue, values.count == columns.count else {
            throw MalformedBatch(reason: "a record without its \(columns.count) values")
        }
        func text(_ column: String) throws -> String {
            guard let text = values[positions[column]!].stringValue else { throw MalformedBatch(reason: "\(column) is not text") }
            return text
        }
        func integer(_ column: String) throws -> Int64 {
            guard let number = values[positions[column]!].intValue else { throw MalformedBatch(reason: "\(column) is not a number") }
            return number
        }
        var record = RequestRecord(
            time: Date(milliseconds: try integer("time_ms")), requestID: try text("request_id"),
            clientKey: try text("client_key"), dialect: try text("dialect"), status: Int(try integer("status")))
        record.provider = try text("provider")
        record.account = try text("account")
        record.model = try text("model")
        record.upstreamModel = try text("upstream_model")
        record.stream = try integer("stream") != 0
        record.errorCode = try text("error_code")
        record.promptTokens = Int(try integer("prompt_tokens"))
        record.completionTokens = Int(try integer("completion_tokens"))
        record.reasoningTokens = Int(try integer("reasoning_tokens"))
        record.cachedTokens = Int(try integer("cached_tokens"))
        record.estimated = try integer("estimated") != 0
        record.firstByteMicros = try integer("first_byte_us")
        record.totalMicros = try integer("total_us")
        record.overheadMicros = try integer("overhead_us")
        return record
    }

    /// A `LIKE` pattern that every batch holding `text` as a value matches (others may match
    /// too: it only narrows what is read). Nil when the value's JSON form may differ from its
    /// characters (quotes, backslashes, control or non-ASCII characters).
    static func containing(_ text: String) -> String? {
        var pattern = "%"
        for unit in text.utf8 {
            guard unit >= 0x20, unit < 0x80, unit != UInt8(ascii: "\""), unit != UInt8(ascii: "\\") else { return nil }
            if unit == UInt8(ascii: "%") || unit == UInt8(ascii: "_") || unit == UInt8(ascii: "!") { pattern += "!" }
            pattern.unicodeScalars.append(Unicode.Scalar(unit))
        }
        return pattern + "%"
    }

    /// The migration's statement that moves rows of the old `usage_requests` table into batches
    /// of at most `UsageRecord.rowsPerWrite`; `array` and `arrays` are the dialect's JSON
    /// functions (`json_array`/`json_group_array`, `json_build_array`/`json_agg`).
    static func moveRows(array: String, arrays: String, asText: String = "") -> String {
        """
        INSERT INTO usage_request_batches (first_ms, last_ms, count, records)
        SELECT MIN(time_ms), MAX(time_ms), COUNT(*), \(arrays)(\(array)(\(columns.joined(separator: ", "))))\(asText)
        FROM (SELECT *, (ROW_NUMBER() OVER (ORDER BY time_ms) - 1) / \(UsageRecord.rowsPerWrite) AS batch
          FROM usage_requests) AS numbered
        WHERE NOT EXISTS (SELECT 1 FROM usage_request_batches)
        GROUP BY batch
        """
    }
}

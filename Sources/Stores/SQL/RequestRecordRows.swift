import Foundation
import OpenAIWire
import SQLKit
import SQLiteNIO

/// How `RequestRecord`s map to the `usage_requests` table: the columns, a record's values in
/// their order (`forEachValue`, the one place that order is written), the statements a batch
/// is written with, and a row read back.
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

    /// Which columns hold text (the others are BIGINT), read off a record's values.
    static let textColumns: [Bool] = {
        var text: [Bool] = []
        forEachValue(of: RequestRecord(time: Date(), requestID: "", clientKey: "", dialect: "", status: 0)) {
            if case .text = $0 { text.append(true) } else { text.append(false) }
        }
        return text
    }()

    /// `INSERT … VALUES (?, …), …` for `rows` records (a full batch's made once).
    static func insert(rows: Int) -> String {
        rows == UsageRecord.rowsPerWrite ? fullBatch : statement(rows: rows)
    }

    private static let fullBatch = statement(rows: UsageRecord.rowsPerWrite)

    private static func statement(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ",") + ")"
        return "INSERT INTO usage_requests (\(columns.joined(separator: ", "))) VALUES "
            + Array(repeating: row, count: rows).joined(separator: ",")
    }

    /// The values of `insert`, record after record.
    static func binds(_ records: [RequestRecord]) -> [SQLiteData] {
        var binds: [SQLiteData] = []
        binds.reserveCapacity(records.count * columns.count)
        for record in records {
            forEachValue(of: record) { value in
                switch value {
                case .text(let text): binds.append(.text(text))
                case .integer(let number): binds.append(.integer(Int(number)))
                }
            }
        }
        return binds
    }

    /// `[[time_ms, "request id", …], …]`: PostgreSQL's one bound value.
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
                case .integer(let number): bytes.append(contentsOf: String(number).utf8)
                }
            }
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    static func record(_ row: any SQLRow) throws -> RequestRecord {
        func text(_ column: String) throws -> String { try row.decode(column: column, as: String.self) }
        func integer(_ column: String) throws -> Int64 { try row.decode(column: column, as: Int64.self) }
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
}

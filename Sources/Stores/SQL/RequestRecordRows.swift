import Foundation
import OpenAIWire
import SQLKit
import SQLiteNIO

/// How `RequestRecord`s map to the `usage_requests` table: the columns in order, the JSON rows
/// a batch is written as (an array per record, its fields in column order), and a row read back.
enum RequestRecordRows {
    static let columns = [
        "time_ms", "request_id", "client_key", "dialect", "provider", "account", "model", "upstream_model", "stream",
        "status", "error_code", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens", "estimated",
        "first_byte_us", "total_us", "overhead_us",
    ]
    /// The positions of the TEXT columns; the others are BIGINT.
    static let textColumns: Set<Int> = [1, 2, 3, 4, 5, 6, 7, 10]

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

    /// The values of `insert`, record after record (appended one by one: this runs for every request).
    static func binds(_ records: [RequestRecord]) -> [SQLiteData] {
        var binds: [SQLiteData] = []
        binds.reserveCapacity(records.count * columns.count)
        for record in records {
            binds.append(.integer(Int(record.time.milliseconds)))
            binds.append(.text(record.requestID))
            binds.append(.text(record.clientKey))
            binds.append(.text(record.dialect))
            binds.append(.text(record.provider))
            binds.append(.text(record.account))
            binds.append(.text(record.model))
            binds.append(.text(record.upstreamModel))
            binds.append(.integer(record.stream ? 1 : 0))
            binds.append(.integer(record.status))
            binds.append(.text(record.errorCode))
            binds.append(.integer(record.promptTokens))
            binds.append(.integer(record.completionTokens))
            binds.append(.integer(record.reasoningTokens))
            binds.append(.integer(record.cachedTokens))
            binds.append(.integer(record.estimated ? 1 : 0))
            binds.append(.integer(Int(record.firstByteMicros)))
            binds.append(.integer(Int(record.totalMicros)))
            binds.append(.integer(Int(record.overheadMicros)))
        }
        return binds
    }

    /// `[[time_ms, "request id", …], …]`.
    static func json(_ records: [RequestRecord]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.count * 200)
        bytes.append(UInt8(ascii: "["))
        for (position, record) in records.enumerated() {
            if position > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "["))
            number(record.time.milliseconds, &bytes)
            for text in [
                record.requestID, record.clientKey, record.dialect, record.provider, record.account, record.model,
                record.upstreamModel,
            ] {
                bytes.append(UInt8(ascii: ","))
                JSONWriter.writeString(text, into: &bytes)
            }
            bytes.append(UInt8(ascii: ","))
            number(record.stream ? 1 : 0, &bytes)
            bytes.append(UInt8(ascii: ","))
            number(Int64(record.status), &bytes)
            bytes.append(UInt8(ascii: ","))
            JSONWriter.writeString(record.errorCode, into: &bytes)
            for value in [
                Int64(record.promptTokens), Int64(record.completionTokens), Int64(record.reasoningTokens),
                Int64(record.cachedTokens), record.estimated ? 1 : 0, record.firstByteMicros, record.totalMicros,
                record.overheadMicros,
            ] {
                bytes.append(UInt8(ascii: ","))
                number(value, &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func number(_ value: Int64, _ bytes: inout [UInt8]) {
        bytes.append(contentsOf: String(value).utf8)
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

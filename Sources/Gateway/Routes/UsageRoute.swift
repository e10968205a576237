import Foundation
import Hummingbird
import HummingbirdCore
import OpenAIWire
import Stores

/// `GET /admin/usage?from=&to=&group_by=` (docs/configuration.md, "Usage"): requests, errors and
/// tokens in a time range, a row per day, model, provider, account or client key name. Loopback
/// or the admin key, like the console. This instance's counts so far are written first, so the
/// answer includes its requests up to now.
struct UsageRoute: Sendable {
    static let path = "/admin/usage"
    static let defaultRange: TimeInterval = 24 * 3600

    let store: any UsageStore
    let recorder: UsageRecorder?
    let localOnly: LocalOnlyGuard

    func respond(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try localOnly.check(request, context: context)
        let query = request.uri.queryParameters
        let (from, to) = try Self.range(query)
        let groupText = query["group_by"].map(String.init) ?? UsageGrouping.day.rawValue
        guard let grouping = UsageGrouping(rawValue: groupText) else {
            throw GatewayError.invalidRequest(
                "'group_by' must be one of \(UsageGrouping.allCases.map(\.rawValue).joined(separator: ", ")).",
                param: "group_by")
        }
        await recorder?.flush()
        let rows: [UsageRow]
        do {
            rows = try await store.usageReport(from: from, to: to, groupBy: grouping)
        } catch {
            throw GatewayError.storeUnavailable(error)
        }
        let body: JSON = [
            "from": .string(from.formatted(.iso8601)), "to": .string(to.formatted(.iso8601)),
            "group_by": .string(grouping.rawValue),
            "rows": .array(
                rows.map { row in
                    [
                        "key": .string(row.key), "requests": .int(Int64(row.requests)), "errors": .int(Int64(row.errors)),
                        "prompt_tokens": .int(Int64(row.promptTokens)),
                        "completion_tokens": .int(Int64(row.completionTokens)),
                        "total_tokens": .int(Int64(row.promptTokens + row.completionTokens)),
                    ]
                }),
        ]
        return .json(body)
    }

    /// `from` and `to`, by default the last 24 hours.
    static func range(_ query: FlatDictionary<Substring, Substring>) throws(GatewayError) -> (from: Date, to: Date) {
        let to = try date(query["to"], param: "to") ?? Date()
        let from = try date(query["from"], param: "from") ?? to.addingTimeInterval(-defaultRange)
        guard from < to else { throw GatewayError.invalidRequest("'from' must be before 'to'.", param: "from") }
        return (from, to)
    }

    /// ISO-8601: a time with a zone (fractional seconds allowed), or a date (its UTC midnight).
    static func date(_ text: Substring?, param: String) throws(GatewayError) -> Date? {
        guard let text = text.map(String.init) else { return nil }
        let styles: [Date.ISO8601FormatStyle] = [
            .iso8601, Date.ISO8601FormatStyle(includingFractionalSeconds: true),
            Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day(),
        ]
        for style in styles { if let date = try? Date(text, strategy: style) { return date } }
        throw GatewayError.invalidRequest(
            "'\(param)' must be an ISO-8601 time (2026-11-22T10:00:00Z) or date (2026-11-22).", param: param)
    }
}

extension GatewayError {
    static func storeUnavailable(_ error: any Error) -> GatewayError {
        .unavailable("The state store did not answer (\(error)); try again.", code: "store_unavailable")
    }
}

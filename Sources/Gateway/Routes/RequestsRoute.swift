import Foundation
import Hummingbird
import OpenAIWire
import Stores

/// `GET /admin/requests?from=&to=&request_id=&key=&limit=` (docs/configuration.md, "Usage"): the
/// usage records of single requests, newest first, for instance the one an `x-request-id` names.
/// Loopback or the admin key, like `/admin/usage`; this instance's pending records are written first.
struct RequestsRoute: Sendable {
    static let path = "/admin/requests"
    static let maxLimit = 1000

    let store: any UsageStore
    let recorder: UsageRecorder?
    let localOnly: LocalOnlyGuard

    func respond(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try localOnly.check(request, context: context)
        let parameters = request.uri.queryParameters
        let (from, to) = try UsageRoute.range(parameters)
        var query = RequestQuery(from: from, to: to)
        query.requestID = parameters["request_id"].map(String.init)
        query.clientKey = parameters["key"].map(String.init)
        if let text = parameters["limit"] {
            guard let limit = Int(text), (1...Self.maxLimit).contains(limit) else {
                throw GatewayError.invalidRequest("'limit' must be a number from 1 to \(Self.maxLimit).", param: "limit")
            }
            query.limit = limit
        }
        await recorder?.flush()
        let records: [RequestRecord]
        do {
            records = try await store.requests(query)
        } catch {
            throw GatewayError.storeUnavailable(error)
        }
        let body: JSON = [
            "from": .string(from.formatted(.iso8601)), "to": .string(to.formatted(.iso8601)),
            "requests": .array(records.map(Self.json)),
        ]
        return .json(body)
    }

    static func json(_ record: RequestRecord) -> JSON {
        func ms(_ micros: Int64) -> JSON { .double(Double(micros) / 1000) }
        return [
            "time": .string(record.time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))),
            "request_id": .string(record.requestID), "key": .string(record.clientKey),
            "dialect": .string(record.dialect), "provider": .string(record.provider),
            "account": .string(record.account), "model": .string(record.model),
            "upstream_model": .string(record.upstreamModel), "stream": .bool(record.stream),
            "status": .int(Int64(record.status)), "error_code": record.errorCode.isEmpty ? .null : .string(record.errorCode),
            "prompt_tokens": .int(Int64(record.promptTokens)), "completion_tokens": .int(Int64(record.completionTokens)),
            "reasoning_tokens": .int(Int64(record.reasoningTokens)), "cached_tokens": .int(Int64(record.cachedTokens)),
            "estimated": .bool(record.estimated), "time_to_first_byte_ms": ms(record.firstByteMicros),
            "total_ms": ms(record.totalMicros), "overhead_ms": ms(record.overheadMicros),
        ]
    }
}

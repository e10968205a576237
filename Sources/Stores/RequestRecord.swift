import Foundation

/// One request as the usage log keeps it (docs/architecture.md, "Usage"): who asked, what was
/// asked and who answered, the tokens, and where the time went. Names, never keys or texts.
package struct RequestRecord: Sendable, Equatable {
    package var time: Date
    /// The answer's `x-request-id`.
    package var requestID: String
    /// The client key's name; empty without client keys.
    package var clientKey: String
    /// `openai-chat`, `anthropic-messages`, …
    package var dialect: String
    /// Empty when no provider took the request (an unknown model).
    package var provider: String = ""
    package var account: String = ""
    /// The model the client asked for.
    package var model: String = ""
    /// The model the provider was asked for.
    package var upstreamModel: String = ""
    package var stream = false
    package var status: Int
    /// The error's `code` (or type) when the request failed, also when a stream failed after it started.
    package var errorCode: String = ""
    package var promptTokens = 0
    package var completionTokens = 0
    package var reasoningTokens = 0
    package var cachedTokens = 0
    /// The tokens are flowgate's estimate (characters / 4): the upstream counted none.
    package var estimated = false
    /// Microseconds from the request's arrival to the answer's first byte.
    package var firstByteMicros: Int64 = 0
    package var totalMicros: Int64 = 0
    /// The total minus the time spent waiting on upstreams: flowgate's own time.
    package var overheadMicros: Int64 = 0

    package init(time: Date, requestID: String, clientKey: String, dialect: String, status: Int) {
        self.time = time
        self.requestID = requestID
        self.clientKey = clientKey
        self.dialect = dialect
        self.status = status
    }

    /// The rollup the usage report sums (one request).
    package var sum: UsageRecord {
        UsageRecord(
            time: time, provider: provider, account: account, model: model, status: status, clientKey: clientKey,
            inputTokens: promptTokens, outputTokens: completionTokens, durationMs: Int(totalMicros / 1000))
    }
}

/// Which request records a listing returns, newest first.
package struct RequestQuery: Sendable {
    package var from: Date
    package var to: Date
    /// Only the request with this id.
    package var requestID: String?
    /// Only requests made with this client key name.
    package var clientKey: String?
    package var limit: Int

    package init(from: Date, to: Date, requestID: String? = nil, clientKey: String? = nil, limit: Int = 100) {
        self.from = from
        self.to = to
        self.requestID = requestID
        self.clientKey = clientKey
        self.limit = limit
    }

    /// Times compared in whole milliseconds, as the SQL stores keep them, so every store agrees.
    package func matches(_ record: RequestRecord) -> Bool {
        let time = record.time.milliseconds
        return time >= from.milliseconds && time < to.milliseconds && (requestID.map { $0 == record.requestID } ?? true)
            && (clientKey.map { $0 == record.clientKey } ?? true)
    }
}

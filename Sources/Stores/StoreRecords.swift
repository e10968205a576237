import Foundation

/// An account signed in through flowgate (docs/architecture.md, "State store"). `credentials`
/// is the provider's own record of the sign-in, in clear here: SQL stores seal it before writing.
package struct StoredAccount: Sendable, Equatable {
    package var provider: String
    package var name: String
    package var credentials: Data
    /// When it was last written: another instance's refresh shows up as a newer time.
    package var updated: Date

    package init(provider: String, name: String, credentials: Data, updated: Date) {
        self.provider = provider
        self.name = name
        self.credentials = credentials
        self.updated = updated
    }
}

/// A pending OAuth sign-in, under its `state` value.
package struct PendingSignIn: Sendable, Equatable {
    package var provider: String
    package var redirect: String
    /// The account the sign-in is for (nil: the provider's main account).
    package var account: String?
    package var expires: Date

    package init(provider: String, redirect: String, account: String?, expires: Date) {
        self.provider = provider
        self.redirect = redirect
        self.account = account
        self.expires = expires
    }
}

/// An account cooling down, for all models (`model` empty) or one.
package struct StoredCooldown: Sendable, Equatable, Hashable {
    package var provider: String
    package var account: String
    package var model: String
    package var until: Date

    package init(provider: String, account: String, model: String = "", until: Date) {
        self.provider = provider
        self.account = account
        self.model = model
        self.until = until
    }
}

/// Answered requests of one provider, account, model and status, summed (docs/architecture.md,
/// "State store"): one per request as recorded, one per such group and second as written.
package struct UsageRecord: Sendable, Equatable {
    package var time: Date
    package var provider: String
    package var account: String
    package var model: String
    package var status: Int
    /// The client key's name (docs/configuration.md, `api_keys`); empty without client keys.
    package var clientKey: String
    package var requests: Int
    package var inputTokens: Int
    package var outputTokens: Int
    /// The requests' durations, summed.
    package var durationMs: Int

    /// Records per `recordUsage` and `recordRequests` call. For the sums' rows, 250, not the 1,700
    /// SQLite's 32,766 binds would allow: SQLite's compiled form of a 1,000-row INSERT took
    /// megabytes, which stayed in malloc's arenas and grew a busy server's memory by 5 MB
    /// (docs/performance.md, "Usage records"). For request records, the most one batch holds
    /// (about 50 KB of JSON), and so what a listing parses per batch it reads.
    package static let rowsPerWrite = 250

    package init(
        time: Date, provider: String, account: String, model: String, status: Int, clientKey: String = "",
        requests: Int = 1, inputTokens: Int, outputTokens: Int, durationMs: Int
    ) {
        self.clientKey = clientKey
        self.requests = requests
        self.time = time
        self.provider = provider
        self.account = account
        self.model = model
        self.status = status
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.durationMs = durationMs
    }
}

/// What `/admin/usage` groups by (docs/architecture.md, "State store").
package enum UsageGrouping: String, CaseIterable, Sendable {
    /// UTC days, as `YYYY-MM-DD`.
    case day
    /// UTC hours, as `YYYY-MM-DDTHH:00Z` (the console's charts).
    case hour
    case model
    case provider
    case account
    /// The client key's name.
    case key
}

/// Usage of one group in a time range.
package struct UsageRow: Sendable, Equatable {
    /// The group's value: a day, model, provider, account or key name.
    package var key: String
    package var requests: Int
    /// Requests answered with a status of 400 or more.
    package var errors: Int
    package var promptTokens: Int
    package var completionTokens: Int

    package init(key: String, requests: Int, errors: Int, promptTokens: Int, completionTokens: Int) {
        self.key = key
        self.requests = requests
        self.errors = errors
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    /// The UTC day of a time, `YYYY-MM-DD` (the `day` grouping's key).
    package static func day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day())
    }

    /// The UTC hour of a time, `YYYY-MM-DDTHH:00Z` (the `hour` grouping's key).
    package static func hour(_ date: Date) -> String {
        let start = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        return String(start.formatted(.iso8601).prefix(13)) + ":00Z"
    }
}

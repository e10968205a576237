import Foundation
import NIOCore
import ChatCore
import OpenAIWire

/// What every upstream implements. A provider turns a validated OpenAI request into
/// an upstream call and hands back OpenAI-shaped data; the gateway does the framing.
package protocol ChatProvider: Sendable {
    /// The routing name (`iflow`, `flowith`, or a user-chosen name).
    var name: String { get }
    /// `iflow`, `flowith` or `openai`.
    var kind: String { get }
    /// Model ids this provider serves, in its preferred order.
    var modelIDs: [String] { get }
    /// The provider's state for /health and the console; never calls the upstream.
    func status() -> ProviderStatus
    /// Fails early (before any upstream call) for requests this provider cannot honour.
    func check(_ request: ChatRequest) throws(GatewayError)
    /// The provider's accounts (docs/architecture.md, "Account pools"): the dispatcher leases one
    /// per attempt, holds its slot for the whole request, and names it by index in the calls below.
    var accounts: ProviderAccounts { get }
    /// What /health and the console show about an account besides its pool state (never a secret).
    func accountDetail(_ account: Int) -> AccountDetail
    /// Takes out an account the operator added (a sign-in through flowgate); accounts from the
    /// configuration are disabled instead. Throws a message for the operator.
    func removeAccount(named name: String) async throws(AccountActionError)
    /// A non-streaming completion as an upstream chat.completion object, on account `account`.
    func complete(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> JSONObject
    /// A streaming completion, returned once the upstream accepted the request.
    func stream(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> ChunkStream
    /// The upstream's name for a listed model id (a mapping like Flowith's models.json).
    func upstreamModel(for id: String) -> String
    /// Asks the upstream for its model list again, where it has one (docs/protocols/openai-compatible.md).
    func refreshModels() async
    /// Before the first request: fetches the model list, reads accounts kept in the state store.
    func prepare() async
    /// Every credential this provider holds now (keys, tokens): the gateway removes them
    /// from anything it shows, whatever an upstream echoed (docs/security.md).
    func secrets() -> [String]
    /// `POST /v1/embeddings`: the upstream's answer as it came, for a body whose model is
    /// already the upstream's name. Providers without embeddings answer 404.
    func embeddings(_ body: JSONObject, account: Int) async throws -> ByteBuffer
    /// Whether the upstream's rate-limit headers (`x-ratelimit-*`) reach the client: OpenAI
    /// clients pace themselves by them. The provider records them in `UpstreamHeaders.current`.
    var passesRateLimitHeaders: Bool { get }
    /// Whether the upstream counts tokens; when not, the usage every dialect reports is the
    /// estimate (docs/configuration.md, "Usage"), and the usage record says so.
    var countsTokens: Bool { get }
    /// The sign-in in the browser this provider offers, if any (the console shows its button).
    var signIn: (any BrowserSignIn)? { get }
    /// Work the provider does for as long as the server runs (keeping a sign-in fresh,
    /// noticing credential files change); returns when cancelled.
    func run() async
}

extension ChatProvider {
    package func embeddings(_ body: JSONObject, account: Int) async throws -> ByteBuffer {
        throw GatewayError(
            status: 404, message: "The \(name) provider serves no embeddings; use a model of an OpenAI-compatible provider.",
            type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    package func check(_ request: ChatRequest) throws(GatewayError) {}
    package func accountDetail(_ account: Int) -> AccountDetail { AccountDetail() }
    package func removeAccount(named name: String) async throws(AccountActionError) {
        throw AccountActionError(
            "The account '\(name)' comes from the configuration: disable it here, or take it out of the configuration.")
    }
    package func upstreamModel(for id: String) -> String { id }
    package func refreshModels() async {}
    package func prepare() async { await refreshModels() }
    package func run() async {}
    package var signIn: (any BrowserSignIn)? { nil }
    package var passesRateLimitHeaders: Bool { false }
    package var countsTokens: Bool { true }
}

/// An account's credentials as the operator sees them.
package struct AccountDetail: Sendable, Equatable {
    /// The start of its key, never more (`sk-ab…`).
    package var keyHint: String?
    package var tokenExpiry: Date?
    /// Where its credentials come from ("IFLOW_API_KEY", "the iFlow CLI's files", …).
    package var source: String?
    /// Added through flowgate (a sign-in), so the operator may remove it.
    package var removable = false

    package init(keyHint: String? = nil, tokenExpiry: Date? = nil, source: String? = nil, removable: Bool = false) {
        self.keyHint = keyHint
        self.tokenExpiry = tokenExpiry
        self.source = source
        self.removable = removable
    }
}

package struct AccountActionError: Error, Sendable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

package struct ProviderStatus: Sendable, Equatable {
    package enum State: String, Sendable {
        case ok
        /// No credentials configured: the user has to sign in or set a key.
        case unconfigured
        /// Credentials exist but the upstream refused them.
        case needsSignIn = "needs_sign_in"
        /// The upstream could not be asked (refused, wrong URL, not an OpenAI server).
        case unreachable
    }
    package var state: State
    package var accounts: Int
    /// A short human sentence for logs, /health and the console (never a secret).
    package var detail: String
    /// When each account's token expires, where tokens expire (Flowith's JWTs, iFlow sign-ins).
    package var tokenExpiries: [Date]
    /// The start of the key in use, never more (`sk-ab…`).
    package var keyHint: String?
    /// `ok`, `expiring` or `expired`, where the provider judges its tokens itself (Flowith):
    /// the console, /health and `flowgate check` all show this one.
    package var tokenState: String?

    package init(
        state: State, accounts: Int, detail: String, tokenExpiries: [Date] = [], keyHint: String? = nil,
        tokenState: String? = nil
    ) {
        self.state = state
        self.accounts = accounts
        self.detail = detail
        self.tokenExpiries = tokenExpiries
        self.keyHint = keyHint
        self.tokenState = tokenState
    }

    /// docs/security.md: at most a short prefix of a secret is ever shown.
    package static func hint(_ secret: String) -> String {
        String(secret.prefix(5)) + "…"
    }
}

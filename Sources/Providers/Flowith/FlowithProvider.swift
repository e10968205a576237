import Foundation
import Logging
import NIOCore
import ChatCore
import OpenAIWire
import Synchronization
import UpstreamHTTP

/// Flowith's web API (docs/protocols/flowith.md) as an OpenAI provider: one upstream call per request,
/// its raw-text answer streamed as deltas the moment each piece arrives.
package final class FlowithProvider: ChatProvider {
    package struct Settings: Sendable {
        package var name: String
        package var baseURL: String
        package var refreshURL: String
        /// Client-facing id → Flowith's model name, in listing order.
        package var models: [(String, String)]
        package var headTimeout: TimeAmount
        package var concurrency: AccountQueue.Settings
        package var strategy: AccountPool.Strategy

        package init(
            name: String = "flowith", baseURL: String, refreshURL: String, models: [(String, String)],
            headTimeout: TimeAmount, concurrency: AccountQueue.Settings = .init(limit: 0),
            strategy: AccountPool.Strategy = .roundRobin
        ) {
            self.strategy = strategy
            self.name = name
            self.baseURL = baseURL
            self.refreshURL = refreshURL
            self.models = models
            self.headTimeout = headTimeout
            self.concurrency = concurrency
        }
    }

    package struct Account: Sendable, Equatable {
        package var token: String
        package var refreshToken: String?
        /// nil: `token1`, `token2`, … by position.
        package var name: String?

        package init(token: String, refreshToken: String? = nil, name: String? = nil) {
            self.token = token
            self.refreshToken = refreshToken
            self.name = name
        }
    }

    package let kind = "flowith"
    package var name: String { settings.name }
    /// Flowith's stream carries text only; its usage is the estimate.
    package var countsTokens: Bool { false }
    package let modelIDs: [String]
    private let upstreamNames: [String: String]
    private let settings: Settings
    private let tokens: [FlowithAccount]
    package let accounts: ProviderAccounts
    private let client: UpstreamClient
    private let completionEndpoint: UpstreamEndpoint
    private let refreshEndpoint: UpstreamEndpoint
    private let logger: Logger
    private let now: @Sendable () -> Date
    /// docs/protocols/flowith.md: renew 60 s before expiry.
    static let renewalMargin: TimeInterval = 60

    package init(
        settings: Settings, accounts: [Account], client: UpstreamClient, logger: Logger,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.settings = settings
        self.modelIDs = settings.models.map(\.0)
        self.upstreamNames = Dictionary(settings.models, uniquingKeysWith: { first, _ in first })
        self.tokens = accounts.map { FlowithAccount(token: $0.token, refreshToken: $0.refreshToken) }
        self.accounts = ProviderAccounts(
            names: accounts.enumerated().map { $0.element.name ?? "token\($0.offset + 1)" },
            settings: settings.concurrency, strategy: settings.strategy)
        self.client = client
        self.completionEndpoint = UpstreamEndpoint(url: FlowithRequest.completionURL(baseURL: settings.baseURL))
        self.refreshEndpoint = UpstreamEndpoint(url: settings.refreshURL)
        self.logger = logger
        self.now = now
    }

    package func upstreamModel(for id: String) -> String { upstreamNames[id] ?? id }

    package func secrets() -> [String] {
        tokens.flatMap { account in
            let tokens = account.snapshot
            return [tokens.access] + (tokens.refresh.map { [$0] } ?? [])
        }
    }

    package func status() -> ProviderStatus {
        guard !tokens.isEmpty else {
            return ProviderStatus(
                state: .unconfigured, accounts: 0, detail: "No Flowith token: set FLOWITH_AUTH_TOKEN.")
        }
        let snapshots = tokens.map(\.snapshot)
        let current = now()
        let states = snapshots.map {
            FlowithToken.state(expiry: $0.expiry, canRenew: $0.refresh != nil, now: current)
        }
        let usable = states.filter { $0 != .expired }.count
        let expiries = snapshots.compactMap(\.expiry).map { $0.formatted(.iso8601) }
        var detail =
            "\(snapshots.count) account(s), \(usable) usable"
            + (expiries.isEmpty ? "" : "; token expiry \(expiries.joined(separator: ", "))")
        if usable == 0 { detail += ". The token has expired: " + FlowithToken.howToGetOne + "." }
        // The worst account's state is the provider's: the one to act on.
        let worst = states.contains(.expired) ? FlowithToken.State.expired : states.contains(.expiring) ? .expiring : .ok
        return ProviderStatus(
            state: usable == 0 ? .needsSignIn : .ok, accounts: snapshots.count, detail: detail,
            tokenExpiries: snapshots.compactMap(\.expiry), tokenState: worst.rawValue)
    }

    package func check(_ request: ChatRequest) throws(GatewayError) {
        if request.choiceCount > 1 {
            throw .invalidRequest(
                "Flowith returns one choice per request; 'n' must be 1.", param: "n", code: "unsupported_value")
        }
        _ = try FlowithTranslation.messages(request)
    }

    package func accountDetail(_ index: Int) -> AccountDetail {
        let snapshot = tokens[index].snapshot
        return AccountDetail(
            keyHint: ProviderStatus.hint(snapshot.access), tokenExpiry: snapshot.expiry,
            source: snapshot.refresh == nil ? "token" : "token, renewed with its refresh token")
    }

    package func complete(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> JSONObject {
        let (response, decoderStart) = try await send(request, upstreamModel: upstreamModel, account: account)
        var decoder = decoderStart
        var items: [StreamItem] = []
        do {
            for try await buffer in response.body { items += try decoder.decode(buffer) }
            items += try decoder.finish()
        } catch {
            throw GatewayError.fromUpstream(error, provider: "Flowith")
        }
        var content = ""
        var reasoning = ""
        var usage: JSON = nil
        for case .events(let events) in items {
            for event in events {
                switch event {
                case .text(let text): content += text
                case .reasoning(let text): reasoning += text
                case .usage(let reported): usage = .object(reported.openAIFields)
                default: break
                }
            }
        }
        guard !content.isEmpty || !reasoning.isEmpty else {
            throw GatewayError.upstreamFailed("Empty upstream response from Flowith.", code: "empty_response")
        }
        var message: JSONObject = ["role": "assistant", "content": .string(content)]
        if !reasoning.isEmpty { message["reasoning_content"] = .string(reasoning) }
        return [
            "choices": [["index": 0, "message": .object(message), "finish_reason": "stop"]], "usage": usage,
        ]
    }

    package func stream(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> ChunkStream {
        let (response, decoder) = try await send(request, upstreamModel: upstreamModel, account: account)
        return ChunkStream(body: response.body, decoder: decoder)
    }

    private func send(_ chat: ChatRequest, upstreamModel: String, account index: Int) async throws
        -> (UpstreamStreamingResponse, FlowithTextDecoder)
    {
        let messages = try FlowithTranslation.messages(chat)
        let account = tokens[index]
        func post(_ token: String) async throws -> UpstreamStreamingResponse {
            let built = FlowithRequest(
                messages: messages, upstreamModel: upstreamModel, baseURL: settings.baseURL, token: token,
                nodeID: UUID().uuidString.lowercased())
            return try await client.postJSONStreaming(
                to: completionEndpoint, headers: built.headers, body: built.body, timeout: settings.headTimeout
            ) { status, body in Self.httpError(status: status, body: Array(body.readableBytesView)) }
        }
        do {
            let token = try await freshToken(account)
            let response: UpstreamStreamingResponse
            do {
                response = try await post(token)
            } catch let error as GatewayError where error.kind == .unauthorized && account.snapshot.refresh != nil {
                // docs/protocols/flowith.md: a rejected token is renewed once before the account counts as signed out.
                try await account.renewal.run { try await self.renew(account) }
                response = try await post(account.snapshot.access)
            }
            return (response, FlowithTextDecoder(promptCharacters: FlowithTranslation.characters(in: messages)))
        } catch {
            throw GatewayError.fromUpstream(error, provider: "Flowith")
        }
    }

    static func httpError(status: Int, body: [UInt8]) -> GatewayError {
        switch status {
        case 401, 403:
            return .unauthorized(
                "Flowith token rejected or expired (HTTP \(status)). Set a fresh FLOWITH_AUTH_TOKEN, or a refresh token.",
                code: "upstream_unauthorized")
        default:
            return UpstreamStatus.common(status, provider: "Flowith", detail: UpstreamExcerpt.of(body))
        }
    }

    /// The account's token, renewed first when it expires within the margin and a refresh token exists.
    private func freshToken(_ account: FlowithAccount) async throws -> String {
        let tokens = account.snapshot
        guard let expiry = tokens.expiry, tokens.refresh != nil,
            expiry.timeIntervalSince(now()) < Self.renewalMargin
        else { return tokens.access }
        try await account.renewal.run { try await self.renew(account) }
        return account.snapshot.access
    }

    /// docs/protocols/flowith.md: `POST {refreshURL}` with `{"refresh_token":…}`; the new token is used at once.
    private func renew(_ account: FlowithAccount) async throws {
        guard let refresh = account.snapshot.refresh else { return }
        let response = try await client.send(
            to: refreshEndpoint, headers: [("content-type", "application/json")],
            body: JSONCoding.buffer(["refresh_token": .string(refresh)] as JSONObject), timeout: .seconds(30),
            maxBytes: 1 << 20)
        guard (200..<300).contains(response.status), let json = try? JSONCoding.decode(response.body),
            let access = json["access_token"]?.stringValue
        else {
            logger.warning("Flowith token renewal failed with HTTP \(response.status)")
            throw GatewayError.unauthorized(
                "Renewing the Flowith token failed (HTTP \(response.status)); set a fresh token.",
                code: "token_refresh_failed")
        }
        account.tokens.withLock { tokens in
            tokens.access = access
            tokens.refresh = json["refresh_token"]?.stringValue ?? tokens.refresh
            tokens.expiry = FlowithToken.expiry(of: access)
        }
        logger.info("Flowith token renewed")
    }
}

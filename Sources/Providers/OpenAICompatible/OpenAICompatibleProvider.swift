import Foundation
import Logging
import NIOCore
import ChatCore
import OpenAIWire
import Synchronization
import UpstreamHTTP

/// Any upstream that already speaks OpenAI (docs/protocols/openai-compatible.md): requests pass through with
/// only the model name changed; answers go through the same normalising as all others.
package final class OpenAICompatibleProvider: ChatProvider {
    /// One key of the upstream (docs/protocols/openai-compatible.md); no key: the upstream needs none.
    package struct Account: Sendable, Equatable {
        package var name: String
        package var apiKey: String?

        package init(name: String, apiKey: String?) {
            self.name = name
            self.apiKey = apiKey
        }
    }

    package struct Settings: Sendable {
        package var name: String
        package var baseURL: String
        package var accounts: [Account]
        /// nil: fetched from `{baseURL}/models`.
        package var models: [String]?
        package var headers: [(String, String)]
        package var headTimeout: TimeAmount
        package var concurrency: AccountQueue.Settings
        package var strategy: AccountPool.Strategy

        package init(
            name: String, baseURL: String, accounts: [Account], models: [String]?, headers: [(String, String)] = [],
            headTimeout: TimeAmount, concurrency: AccountQueue.Settings = .init(limit: 0),
            strategy: AccountPool.Strategy = .roundRobin
        ) {
            self.name = name
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.accounts = accounts
            self.strategy = strategy
            self.models = models
            self.headers = headers
            self.headTimeout = headTimeout
            self.concurrency = concurrency
        }
    }

    package let kind = "openai"
    package var name: String { settings.name }
    private let settings: Settings
    private let client: UpstreamClient
    private let logger: Logger
    package let accounts: ProviderAccounts
    private let chatEndpoint: UpstreamEndpoint
    private let embeddingsEndpoint: UpstreamEndpoint
    private let modelsEndpoint: UpstreamEndpoint
    /// The fetched model list, when it was asked for, why the last fetch failed, and the
    /// fetch under way (callers at the same time wait for the same fetch).
    private struct Fetched {
        var models: [String] = []
        var at: ContinuousClock.Instant?
        var failure: String?
        var running: Task<Void, Never>?
    }
    private let fetched = Mutex(Fetched())
    private static let maxResponseBytes = 64 << 20

    package init(settings: Settings, client: UpstreamClient, logger: Logger) {
        self.settings = settings
        self.client = client
        self.logger = logger
        self.accounts = ProviderAccounts(
            names: settings.accounts.map(\.name), settings: settings.concurrency, strategy: settings.strategy)
        self.chatEndpoint = UpstreamEndpoint(url: settings.baseURL + "/chat/completions")
        self.embeddingsEndpoint = UpstreamEndpoint(url: settings.baseURL + "/embeddings")
        self.modelsEndpoint = UpstreamEndpoint(url: settings.baseURL + "/models")
    }

    package var modelIDs: [String] { settings.models ?? fetched.withLock { $0.models } }

    package func secrets() -> [String] {
        settings.accounts.compactMap(\.apiKey)
    }

    package func accountDetail(_ index: Int) -> AccountDetail {
        AccountDetail(keyHint: settings.accounts[index].apiKey.map(ProviderStatus.hint), source: "configuration")
    }

    package func status() -> ProviderStatus {
        let count = modelIDs.count
        if settings.models == nil, let failure = fetched.withLock({ $0.failure }) {
            return ProviderStatus(
                state: .unreachable, accounts: settings.accounts.count, detail: "listing models at \(settings.baseURL)/models failed: \(failure)")
        }
        let source = settings.models == nil ? "fetched from \(settings.baseURL)/models" : "configured"
        return ProviderStatus(state: .ok, accounts: settings.accounts.count, detail: "\(count) models \(source)")
    }

    /// docs/protocols/openai-compatible.md: the model list comes from the upstream when not configured; asked again
    /// at most every 30 s (on start, and when a client names a model nobody lists). A caller
    /// that comes while a fetch is under way waits for it, so nobody sees a half-done list.
    package func refreshModels() async {
        guard settings.models == nil else { return }
        let task = fetched.withLock { state -> Task<Void, Never>? in
            if let running = state.running { return running }
            if let at = state.at, ContinuousClock.now - at < .seconds(30) { return nil }
            state.at = .now
            let task = Task { await self.fetchModels() }
            state.running = task
            return task
        }
        await task?.value
    }

    private func fetchModels() async {
        defer { fetched.withLock { $0.running = nil } }
        let failure: String
        do {
            // The list is the same for every key: the first one asks.
            let response = try await client.send(
                .GET, to: modelsEndpoint, headers: commonHeaders(accept: "application/json", account: 0),
                timeout: .seconds(15), maxBytes: 8 << 20)
            let data = response.status == 200 ? (try? JSONCoding.decode(response.body))?["data"]?.arrayValue : nil
            if let data {
                let ids = data.compactMap { $0["id"]?.stringValue }
                fetched.withLock {
                    $0.models = ids
                    $0.failure = nil
                }
                return
            }
            failure =
                [401, 403].contains(response.status)
                ? "the API key was rejected (HTTP \(response.status))"
                : response.status == 200 ? "the answer is not a model list" : "HTTP \(response.status)"
        } catch {
            failure = GatewayError.describe(error)
        }
        logger.warning("\(name): listing models failed: \(failure)")
        fetched.withLock { $0.failure = failure }
    }

    package var passesRateLimitHeaders: Bool { true }

    package func complete(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> JSONObject {
        do {
            let body = try await client.postJSONCollecting(
                to: chatEndpoint, headers: headers(for: request, account: account),
                body: self.body(for: request, upstreamModel: upstreamModel),
                timeout: settings.headTimeout, maxBytes: Self.maxResponseBytes,
                failure: { self.httpError(status: $0, body: $1, model: upstreamModel) },
                headersSeen: { UpstreamHeaders.current?.record($0) })
            guard case .object(let object) = try? JSONCoding.decode(body) else {
                throw GatewayError.upstreamFailed(
                    "Invalid upstream response (not JSON): \(UpstreamExcerpt.of(body.readableBytesView))",
                    code: "invalid_upstream_response")
            }
            return object
        } catch {
            throw GatewayError.fromUpstream(error, provider: name)
        }
    }

    /// Bytes through, both ways: only the model name was changed (by the caller).
    package func embeddings(_ body: JSONObject, account: Int) async throws -> ByteBuffer {
        do {
            return try await client.postJSONCollecting(
                to: embeddingsEndpoint,
                headers: [("Content-Type", "application/json")] + commonHeaders(accept: "application/json", account: account),
                body: body, timeout: settings.headTimeout, maxBytes: Self.maxResponseBytes,
                failure: { self.httpError(status: $0, body: $1) },
                headersSeen: { UpstreamHeaders.current?.record($0) })
        } catch {
            throw GatewayError.fromUpstream(error, provider: name)
        }
    }

    package func stream(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> ChunkStream {
        do {
            let response = try await client.postJSONStreaming(
                to: chatEndpoint, headers: headers(for: request, account: account),
                body: body(for: request, upstreamModel: upstreamModel), timeout: settings.headTimeout,
                failure: { self.httpError(status: $0, body: $1, model: upstreamModel) })
            UpstreamHeaders.current?.record(response.headers)
            try await EventStreamCheck.require(response, maxBytes: Self.maxResponseBytes) { contentType, body in
                .upstreamFailed(
                    "\(name) answered a stream request with \(contentType): \(UpstreamExcerpt.of(body.readableBytesView))",
                    code: "invalid_upstream_response")
            }
            let decoder = SSEChunkDecoder { object in
                if let error = object["error"], object["choices"] == nil {
                    throw GatewayError.upstreamFailed(
                        "\(self.name) failed: \(error["message"]?.stringValue ?? JSONCoding.string(error))")
                }
            }
            return ChunkStream(body: response.body, decoder: decoder)
        } catch {
            throw GatewayError.fromUpstream(error, provider: name)
        }
    }

    private func body(for chat: ChatRequest, upstreamModel: String) -> JSONObject {
        var body = chat.openAIBody
        body["model"] = .string(upstreamModel)
        return body
    }

    private func headers(for chat: ChatRequest, account: Int) -> [(String, String)] {
        [("Content-Type", "application/json")]
            + commonHeaders(accept: chat.stream ? "text/event-stream" : "application/json", account: account)
    }

    /// The account's key, the Accept header, then the user's extra headers (which win).
    private func commonHeaders(accept: String, account: Int) -> [(String, String)] {
        var headers: [(String, String)] = [("Accept", accept)]
        if settings.accounts.indices.contains(account), let key = settings.accounts[account].apiKey, !key.isEmpty {
            headers.insert(("Authorization", "Bearer \(key)"), at: 0)
        }
        let overridden = Set(settings.headers.map { $0.0.lowercased() })
        return headers.filter { !overridden.contains($0.0.lowercased()) } + settings.headers
    }

    /// The upstream speaks OpenAI: its client errors are passed on as they are; its
    /// own failures are 502 (docs/protocols/openai-chat.md: a status that means what it says).
    /// A 429 whose message names the model is a limit on that model only (docs/architecture.md, "Account pools").
    func httpError(status: Int, body: ByteBuffer, model: String? = nil) -> GatewayError {
        let error = (try? JSONCoding.decode(body))?["error"]
        let message = error?["message"]?.stringValue ?? UpstreamExcerpt.of(body.readableBytesView)
        switch status {
        case 400, 404, 413, 422:
            var mapped = GatewayError.invalidRequest(
                "\(name): \(message)", param: error?["param"]?.stringValue,
                code: error?["code"]?.stringValue)
            mapped.status = status == 422 ? 400 : status
            return mapped
        case 401, 403:
            return .unauthorized(
                "\(name) rejected the API key (HTTP \(status)): \(message)", code: "upstream_unauthorized")
        default:
            var mapped = UpstreamStatus.common(status, provider: name, detail: message)
            if status == 429, let model, !model.isEmpty, message.contains(model) { mapped.perModelLimit = true }
            return mapped
        }
    }
}

import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ChatCore
import OpenAIWire
import Synchronization

/// The iFlow CLI's model service (docs/protocols/iflow.md) as an OpenAI provider.
package final class IFlowProvider: ChatProvider {
    package struct Settings: Sendable {
        package var name: String
        package var baseURL: String
        package var models: IFlowModelList
        /// Time allowed until the upstream's response head arrives.
        package var headTimeout: TimeAmount
        /// docs/protocols/iflow.md: one request in flight per account by default.
        package var concurrency: AccountQueue.Settings

        package init(
            name: String = "iflow", baseURL: String, models: IFlowModelList, headTimeout: TimeAmount,
            concurrency: AccountQueue.Settings = .init(limit: 1)
        ) {
            self.name = name
            self.baseURL = baseURL
            self.models = models
            self.headTimeout = headTimeout
            self.concurrency = concurrency
        }
    }

    package let kind = "iflow"
    package var name: String { settings.name }
    package var modelIDs: [String] { settings.models.models }
    private let settings: Settings
    private let credentials: IFlowCredentials
    private let client: HTTPClient
    private let session = IFlowRequest.Session.make()
    private let chatEndpoint: UpstreamEndpoint
    /// The signature keyed with the key last used.
    private let signature = Mutex<IFlowSignature?>(nil)
    /// The account's slots (one account per provider today).
    let queue: AccountQueue
    private let logger: Logger
    /// Largest non-streaming answer read from the upstream.
    private static let maxResponseBytes = 64 << 20

    /// Keeps an OAuth sign-in fresh, when there is one.
    package let refresher: IFlowTokenRefresher?

    package init(
        settings: Settings, credentials: IFlowCredentials, client: HTTPClient, logger: Logger,
        refresher: IFlowTokenRefresher? = nil
    ) {
        self.refresher = refresher
        self.settings = settings
        self.chatEndpoint = UpstreamEndpoint(url: IFlowRequest.chatURL(baseURL: settings.baseURL))
        self.queue = AccountQueue(settings: settings.concurrency)
        self.credentials = credentials
        self.client = client
        self.logger = logger
    }

    package func secrets() -> [String] {
        credentials.currentKey().map { [$0] } ?? []
    }

    package func status() -> ProviderStatus {
        if case .needsSignIn(let reason)? = refresher?.state {
            return ProviderStatus(state: .needsSignIn, accounts: 1, detail: "iFlow sign-in lapsed: \(reason).")
        }
        let hint = credentials.currentKey().map(ProviderStatus.hint)
        var expiries: [Date] = []
        if case .ok(let expiry)? = refresher?.state { expiries = [expiry] }
        switch credentials.source {
        case .environment:
            return ProviderStatus(state: .ok, accounts: 1, detail: "API key from IFLOW_API_KEY", keyHint: hint)
        case .settingsFile:
            // No path: /health is open to anyone who reaches the port.
            let how = expiries.isEmpty ? "API key" : "signed in; key"
            return ProviderStatus(
                state: .ok, accounts: 1, detail: "\(how) from the iFlow CLI's settings.json", tokenExpiries: expiries,
                keyHint: hint)
        case .none:
            return ProviderStatus(state: .unconfigured, accounts: 0, detail: Self.notConfigured)
        }
    }

    private static let notConfigured =
        "No iFlow API key: sign in at / (or run `flowgate login iflow`), set IFLOW_API_KEY, or put apiKey in ~/.iflow/settings.json."

    package func check(_ request: ChatRequest) throws(GatewayError) {
        if request.choiceCount > 1 {
            throw .invalidRequest(
                "iFlow returns one choice per request; 'n' must be 1.", param: "n", code: "unsupported_value")
        }
    }

    package var accountQueues: [AccountQueue] { [queue] }

    package var signIn: (any BrowserSignIn)? { refresher.map(IFlowBrowserSignIn.init) }

    /// How often the CLI's files are looked at for a sign-in made elsewhere.
    static let fileCheckInterval = Duration.seconds(2)

    /// Keeps the sign-in fresh and notices the CLI's files change (docs/protocols/iflow.md).
    package func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.fileCheckInterval)
                    self.credentials.checkForChanges()
                    self.refresher?.reloadStored()
                }
            }
            if let refresher { group.addTask { await refresher.run() } }
        }
    }

    package func complete(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> JSONObject {
        try await withKey { key in
            let built = try self.build(request, upstreamModel: upstreamModel, key: key)
            let body = try await self.client.postJSONCollecting(
                to: self.chatEndpoint, headers: built.headers, body: built.body, timeout: self.settings.headTimeout,
                maxBytes: Self.maxResponseBytes, failure: Self.httpError)
            guard case .object(let object) = try? JSONCoding.decode(body) else {
                throw GatewayError.upstreamFailed(
                    "Invalid upstream response (not JSON): \(UpstreamExcerpt.of(body.readableBytesView))",
                    code: "invalid_upstream_response")
            }
            if let error = IFlowErrors.businessError(in: object) { throw error }
            return object
        }
    }

    package func stream(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> ChunkStream {
        try await withKey { key in
            let built = try self.build(request, upstreamModel: upstreamModel, key: key)
            let response = try await self.client.postJSON(
                url: built.url, headers: built.headers, body: built.body, timeout: self.settings.headTimeout,
                failure: Self.httpError)
            try await EventStreamCheck.require(response, maxBytes: Self.maxResponseBytes) { contentType, body in
                // A failure reported as a plain JSON body although we asked for a stream.
                if case .object(let object)? = try? JSONCoding.decode(body),
                    let error = IFlowErrors.businessError(in: object)
                {
                    return error
                }
                if body.readableBytes == 0 {
                    return .upstreamFailed("Empty upstream response; the context may be too long.", code: "empty_response")
                }
                return .upstreamFailed(
                    "iFlow answered a stream request with \(contentType.isEmpty ? "no content type" : contentType): \(UpstreamExcerpt.of(body.readableBytesView))",
                    code: "invalid_upstream_response")
            }
            let decoder = SSEChunkDecoder { object in
                if let error = IFlowErrors.businessError(in: object) { throw error }
            }
            return ChunkStream(body: response.body, decoder: decoder)
        }
    }

    /// Runs `operation` with the current key; a 439 (key expired) re-reads the
    /// credentials and retries once with a new key (docs/protocols/iflow.md).
    private func withKey<T: Sendable>(_ operation: @Sendable (String) async throws -> T) async throws -> T {
        await refresher?.refreshIfExpired()
        guard let key = credentials.currentKey() else {
            throw GatewayError.unavailable(Self.notConfigured, code: "provider_not_configured")
        }
        do {
            do {
                return try await operation(key)
            } catch let error as GatewayError where error.kind == .credentialsExpired {
                // docs/protocols/iflow.md (439): refresh the sign-in, then retry once with the new key.
                await refresher?.refreshNow()
                guard let renewed = credentials.reload(), renewed != key else { throw error }
                logger.info("iFlow said the API key expired; retrying once with the renewed key")
                return try await operation(renewed)
            }
        } catch {
            throw GatewayError.fromUpstream(error, provider: "iFlow")
        }
    }

    private func signature(for key: String) -> IFlowSignature {
        signature.withLock { stored in
            if let current = stored, current.apiKey == key { return current }
            let fresh = IFlowSignature(apiKey: key)
            stored = fresh
            return fresh
        }
    }

    private static func httpError(status: Int, body: ByteBuffer) -> GatewayError {
        IFlowErrors.httpError(status: status, body: Array(body.readableBytesView))
    }

    private func build(_ chat: ChatRequest, upstreamModel: String, key: String) throws(GatewayError) -> IFlowRequest {
        try IFlowRequest(
            chat: chat, upstreamModel: upstreamModel, baseURL: settings.baseURL, signature: signature(for: key),
            session: session, timestampMs: Int64(Date().timeIntervalSince1970 * 1000))
    }
}

import AsyncHTTPClient
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Mocks
import NIOCore
import OpenAIWire
import Providers
import Stores
import Synchronization
import Testing

/// flowgate in-process in front of a mock iFlow upstream on 127.0.0.1:0.
struct GatewayHarness {
    let mock: MockIFlow
    /// With a Flowith mock: its provider (accounts from `flowithTokens`) comes after iFlow.
    let flowith: MockFlowith?
    /// With a generic OpenAI-compatible mock, named `generic`, last in order.
    let openai: MockOpenAI?
    /// With the iFlow OAuth mock: iFlow's key then comes from a settings.json in `home`.
    let oauth: MockIFlowOAuth?
    let home = NSTemporaryDirectory() + "flowgate-home-\(UUID().uuidString)"
    /// The providers of the running gateway, for tests that drive them directly.
    let built = ProvidersBox()
    let logger: Logger
    /// The gateway's state store (each harness its own unless given one).
    let store: any StateStore
    var configure: @Sendable (inout GatewayConfig) -> Void = { _ in }
    /// With it, the server reloads (config file changes): the configuration it reloads to, from the first one.
    var reloaded: (@Sendable (GatewayConfig) throws -> GatewayConfig)?

    static let flowithToken = MockFlowith.jwt(expiry: Date().addingTimeInterval(3600))

    init(
        mock: MockIFlow = MockIFlow(), flowith: MockFlowith? = nil, openai: MockOpenAI? = nil,
        oauth: MockIFlowOAuth? = nil, logger: Logger = Logger(label: "test"), store: any StateStore = MemoryStateStore(),
        configure: @escaping @Sendable (inout GatewayConfig) -> Void = { _ in }
    ) {
        self.oauth = oauth
        self.mock = mock
        self.flowith = flowith
        self.openai = openai
        self.logger = logger
        self.store = store
        self.configure = configure
    }

    func run(_ test: @Sendable (any TestClientProtocol, GatewayConfig) async throws -> Void) async throws {
        let mockRouter = Router()
        mock.addRoutes(to: mockRouter)
        flowith?.addRoutes(to: mockRouter)
        openai?.addRoutes(to: mockRouter)
        oauth?.addRoutes(to: mockRouter)
        let mockApp = Application(router: mockRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await mockApp.test(.live) { upstream in
            var config = GatewayConfig()
            config.port = 0
            config.dataDirectory = home + "/.flowgate"
            config.iflow.baseURL = "http://127.0.0.1:\(upstream.port!)/v1"
            config.iflow.apiKey = mock.apiKey
            config.iflow.settingsPath = "/nonexistent/settings.json"
            let base = "http://127.0.0.1:\(upstream.port!)"
            if oauth != nil {
                config.iflow.apiKey = nil
                config.iflow.oauthURL = base
                config.iflow.settingsPath = home + "/.iflow/settings.json"
            }
            if flowith != nil {
                var settings = FlowithConfig()
                settings.baseURL = base + "/flowith"
                settings.refreshURL = base + "/auth/v1/token?grant_type=refresh_token"
                settings.accounts = [.init(token: Self.flowithToken)]
                config.providers.append(settings)
            }
            if let openai {
                var settings = OpenAICompatibleConfig(name: "generic", baseURL: base + "/openai/v1")
                settings.apiKey = openai.apiKey
                settings.headers = ["X-Extra": "yes"]
                config.providers.append(settings)
            }
            configure(&config)
            let settings = config
            let client = UpstreamHTTPClient.make(config: config)
            do {
                let providers = try makeProviders(config: config, client: client, logger: logger, store: store)
                for entry in providers { await entry.provider.prepare() }
                built.entries.withLock { $0 = providers }
                let reload = reloaded.map { next in
                    ConfigReload(client: client, onSignal: false) { try next(settings) }
                }
                let app = buildApplication(
                    config: config, providers: providers, logger: logger, store: store, reload: reload)
                // The chat route closes connections after answering (SWIFT-NOTES): use a reconnecting client.
                try await app.test(.ahc(.http)) { gateway in try await test(gateway, settings) }
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }
}

extension TestClientProtocol {
    func chat(_ body: JSON, path: String = "/v1/chat/completions", headers: HTTPFields = [:]) async throws
        -> TestResponse
    {
        var fields: HTTPFields = [.contentType: "application/json"]
        fields.append(contentsOf: headers)
        return try await execute(
            uri: path, method: .post, headers: fields, body: JSONCoding.buffer(body))
    }

    func raw(_ body: String, path: String = "/v1/chat/completions") async throws -> TestResponse {
        try await execute(
            uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }
}

func request(_ content: String, model: String = "glm-4.7", stream: Bool = false, extra: JSONObject = [:]) -> JSON {
    var body: JSONObject = ["model": .string(model), "messages": [["role": "user", "content": .string(content)]]]
    if stream { body["stream"] = true }
    for (k, v) in extra { body[k] = v }
    return .object(body)
}

extension TestResponse {
    var json: JSON? { try? JSONCoding.decode(body) }

    /// The SSE data events of a stream body; `[DONE]` is nil.
    var events: [JSON?] {
        var parser = SSEParser()
        return ((try! parser.feed(body)) + parser.finish()).map {
            $0.text == "[DONE]" ? nil : try? JSONCoding.decode(Data($0.data))
        }
    }

    var streamedContent: String {
        events.compactMap { $0?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
    }
}

final class ProvidersBox: Sendable {
    let entries = Mutex<[ModelRouter.Entry]>([])

    var iflow: IFlowProvider? { entries.withLock { $0.lazy.compactMap { $0.provider as? IFlowProvider }.first } }
}

extension GatewayConfig {
    /// The first iFlow provider: reading gives iFlow's defaults when there is none, writing
    /// replaces it or adds one (tests name the kinds they drive).
    var iflow: IFlowConfig {
        get { first(IFlowConfig.self) ?? IFlowConfig() }
        set {
            if let index = providers.firstIndex(where: { $0 is IFlowConfig }) {
                providers[index] = newValue
            } else {
                providers.append(newValue)
            }
        }
    }
}

/// Posts a browser form to `path` without following the redirect (the console's forms).
func postForm(_ gateway: any TestClientProtocol, _ path: String, _ form: String, origin: String? = nil) async throws
    -> HTTPClientResponse
{
    var configuration = HTTPClient.Configuration()
    configuration.redirectConfiguration = .disallow
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    defer { _ = client.shutdown() }
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(gateway.port!)\(path)")
    request.method = .POST
    request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
    if let origin { request.headers.add(name: "origin", value: origin) }
    request.body = .bytes(ByteBuffer(string: form))
    return try await client.execute(request, timeout: .seconds(10))
}

/// An Anthropic Messages request for `model`.
func messagesRequest(_ content: String, model: String = "glm-4.7") -> JSON {
    ["model": .string(model), "max_tokens": 10, "messages": [["role": "user", "content": .string(content)]]]
}

/// Polls `condition` every 100 ms for up to `seconds` (for what a background loop does, like noticing a file).
func waitUntil(seconds: Double = 5, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("condition not met within \(seconds) s")
}

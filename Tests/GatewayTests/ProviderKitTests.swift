import AsyncHTTPClient
import ChatCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OpenAIWire
import Providers
import Testing
import UpstreamHTTP

@testable import Gateway

/// docs/architecture.md, "Adding a provider": a kind defined here, outside the gateway and the
/// Providers module, is configured from the file, routed, and served in both dialects.
@Suite struct ProviderKitTests {
    static let kinds = ProviderKinds.builtIn + [EchoKind()]

    func resolve(_ yaml: String) throws(ConfigError) -> GatewayConfig {
        try GatewayConfig.resolve(
            flags: .init(configPath: "/virtual/config.yaml"), environment: [:], home: "/h", readFile: { _ in yaml },
            kinds: Self.kinds)
    }

    @Test func aFourthKindPlugsInWithoutGatewayCode() async throws {
        let config = try resolve(
            """
            server: {port: 0}
            providers:
              - kind: echo
                name: parrot
                reply: Polly
                max_concurrency: 3
            aliases:
              claude-*: parrot/echo-1
            """)
        let parrot = try #require(config.first(EchoConfig.self))
        #expect(parrot.reply == "Polly" && parrot.concurrency.limit == 3)
        let client = UpstreamHTTPClient.make(config: config)
        defer { _ = client.shutdown() }
        let providers = try makeProviders(config: config, client: client, logger: Logger(label: "test"))
        let app = buildApplication(config: config, providers: providers, logger: Logger(label: "test"))
        try await app.test(.live) { gateway in
            let chat = try await gateway.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"model":"parrot/echo-1","messages":[{"role":"user","content":"hi"}]}"#))
            #expect(chat.status == .ok)
            let answer = try JSONCoding.decode(chat.body)
            #expect(answer["choices"]?.arrayValue?.first?["message"]?["content"] == "Polly: hi")
            #expect(answer["model"] == "parrot/echo-1")

            let streamed = try await gateway.execute(
                uri: "/v1/messages", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(
                    string: #"{"model":"claude-haiku-4","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"hey"}]}"#
                ))
            #expect(streamed.status == .ok)
            let text = String(buffer: streamed.body)
            #expect(text.contains(#""text":"Polly: hey""#))
            #expect(text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))

            let health = try JSONCoding.decode(try await gateway.execute(uri: "/health", method: .get).body)
            #expect(health["providers"]?["parrot"]?["kind"] == "echo")
            #expect(health["providers"]?["parrot"]?["state"] == "ok")
        }
    }

    @Test func theKindsKeysAreCheckedLikeAnyOther() {
        do {
            _ = try resolve("providers:\n  - kind: echo\n    repl: typo\n")
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.message.contains("providers[0].repl") && error.message.contains("reply"))
        }
        do {
            _ = try resolve("providers:\n  - kind: parrot\n")
            Issue.record("an unknown kind was accepted")
        } catch {
            #expect(error.message.contains("iflow, flowith, openai, echo"))
        }
    }
}

/// The test's own kind: answers every chat with its configured reply and the last user message.
struct EchoKind: ProviderKind {
    let kind = "echo"
    let sectionKeys: Set<String> = ["reply"]

    func config(from section: any ConfigSection) throws(ConfigError) -> any ProviderConfig {
        var config = EchoConfig()
        if let name = try section.string("name") { config.name = name }
        if let reply = try section.string("reply") { config.reply = reply }
        return config
    }

    func applyEnvironment(_ environment: [String: String], to existing: (any ProviderConfig)?) -> (any ProviderConfig)? {
        existing
    }
}

struct EchoConfig: ProviderConfig {
    var kind: String { "echo" }
    var name = "echo"
    var reply = "echo"
    var aliases: [String: String] = [:]
    var concurrency = AccountQueue.Settings(limit: 0)
    var strategy = AccountPool.Strategy.roundRobin

    mutating func finish(home: String) {}

    func build(_ context: ProviderContext) throws -> any ChatProvider {
        EchoProvider(name: name, reply: reply, accounts: ProviderAccounts(names: ["default"], settings: concurrency))
    }
}

struct EchoProvider: ChatProvider {
    let name: String
    let reply: String
    let accounts: ProviderAccounts
    var kind: String { "echo" }
    var modelIDs: [String] { ["echo-1"] }

    func status() -> ProviderStatus { ProviderStatus(state: .ok, accounts: 1, detail: "echoes") }
    func secrets() -> [String] { [] }

    func answer(_ request: ChatRequest) -> String {
        reply + ": " + (request.messages.last?.text ?? "")
    }

    func complete(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> JSONObject {
        ["choices": [["index": 0, "message": ["role": "assistant", "content": .string(answer(request))], "finish_reason": "stop"]]]
    }

    func stream(_ request: ChatRequest, upstreamModel: String, account: Int) async throws -> ChunkStream {
        let chunk: JSON = ["choices": [["index": 0, "delta": ["content": .string(answer(request))], "finish_reason": "stop"]]]
        let text = "data: \(JSONCoding.string(chunk))\n\ndata: [DONE]\n\n"
        return ChunkStream(body: .bytes(ByteBuffer(string: text)), decoder: SSEChunkDecoder())
    }
}

import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import Mocks
import OpenAIWire
import Providers
import Testing

@testable import Gateway

/// docs/configuration.md, "Reload": a change of the config file takes effect without a
/// restart; streams running meanwhile finish on what they started with; a broken file
/// changes nothing.
@Suite struct ReloadTests {
    let file = NSTemporaryDirectory() + "flowgate-reload-\(UUID().uuidString).yaml"

    /// The harness's configuration with the file's providers, aliases and fallbacks on top.
    func harness() -> GatewayHarness {
        let file = self.file
        var harness = GatewayHarness { config in
            config.iflow.concurrency.limit = 0
            config.aliases = ["fast": "iflow/glm-4.7"]
            config.configFile = file
        }
        harness.reloaded = { base in
            var config = base
            let text = try String(contentsOfFile: file, encoding: .utf8)
            try ConfigFile.apply(yaml: text, origin: file, home: NSTemporaryDirectory(), to: &config)
            return config
        }
        return harness
    }

    func write(_ yaml: String) throws {
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
    }

    @Test func aChangedFileReloadsWhileTwentyStreamsRunAndNoneBreaks() async throws {
        let harness = harness()
        try write("aliases: {fast: iflow/glm-4.7}\n")
        try await harness.run { gateway, config in
            let iflow = try #require(config.first(IFlowConfig.self))
            // Its own client: the test client opens at most 8 connections, and all 20 must start now.
            var pool = HTTPClient.Configuration()
            pool.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: pool)
            defer { _ = client.shutdown() }
            let port = gateway.port!
            let streams = Task {
                try await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for i in 0..<20 {
                        group.addTask {
                            var post = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                            post.method = .POST
                            post.headers.add(name: "content-type", value: "application/json")
                            post.body = .bytes(
                                JSONCoding.buffer(request("scenario:slow:60 \(i)", model: "fast", stream: true)))
                            let response = try await client.execute(post, timeout: .seconds(30))
                            let body = try await response.body.collect(upTo: 1 << 20)
                            return (Int(response.status.code), String(buffer: body))
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            // All twenty reached the upstream (under the old configuration) before it changes.
            try await waitUntil(seconds: 20) { harness.mock.requests.count >= 20 }
            // A new provider list (iFlow rebuilt: two keys now, one line each) and new aliases.
            try write(
                """
                providers:
                  - kind: iflow
                    name: iflow
                    base_url: \(iflow.baseURL)
                    api_key: \(harness.mock.apiKey),sk-second
                    settings: /nonexistent/settings.json
                aliases: {renamed: iflow/glm-4.7}
                fallbacks: {renamed: [iflow/glm-5]}
                """)
            try await waitUntil(seconds: 6) {
                try await gateway.execute(uri: "/v1/models/renamed", method: .get).status == .ok
            }
            let responses = try await streams.value
            #expect(responses.count == 20)
            for (status, text) in responses {
                #expect(status == 200)
                #expect(text.hasSuffix("data: [DONE]\n\n") && !text.contains("\"error\""), "a stream broke")
                #expect(text.contains("\"59 \""), "every piece arrived")
            }
            #expect(try await gateway.execute(uri: "/v1/models/fast", method: .get).status == .notFound)
            #expect(try await gateway.chat(request("hi", model: "renamed")).status == .ok)
            let accounts = try await FailoverTests.accounts(gateway)
            #expect(Set(accounts.keys) == ["key1", "key2"], "the new configuration's accounts")
        }
    }

    @Test func aBrokenFileKeepsTheRunningConfiguration() async throws {
        let harness = harness()
        try write("aliases: {fast: iflow/glm-4.7}\n")
        try await harness.run { gateway, _ in
            try write("aliases: [this is not a mapping\n")
            try await Task.sleep(for: .seconds(3))
            #expect(try await gateway.chat(request("hi", model: "fast")).status == .ok)
            try write("aliases: {fast: iflow/glm-4.7, later: iflow/glm-4.7}\n")
            try await waitUntil(seconds: 6) {
                try await gateway.execute(uri: "/v1/models/later", method: .get).status == .ok
            }
        }
    }
}

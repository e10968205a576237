import Providers
import Testing

@testable import Gateway
@testable import OpenAIWire

@Suite struct GatewayConfigTests {
    @Test func defaults() throws {
        let config = try GatewayConfig.resolve(flags: .init(), environment: [:], home: "/home/u")
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8000)
        #expect(config.keepAliveInterval == .seconds(15))
        #expect(config.reasoning == .passthrough)
        #expect(config.bodyLimit == 32 << 20)
        #expect(config.iflow.baseURL == "https://apis.iflow.cn/v1")
        #expect(config.iflow.settingsPath == "/home/u/.iflow/settings.json")
        #expect(config.iflow.apiKey == nil)
    }

    @Test func environmentOverridesDefaults() throws {
        let config = try GatewayConfig.resolve(
            flags: .init(),
            environment: [
                "HOST": "0.0.0.0", "PORT": "7860", "IFLOW_API_KEY": "k", "IFLOW_BASE_URL": "http://mirror/v1",
                "IFLOW_SETTINGS": "~/alt.json", "FLOWGATE_KEEPALIVE": "0", "FLOWGATE_REASONING": "inline",
                "HTTPS_PROXY": "http://proxy:3128", "FLOWGATE_UPSTREAM_TIMEOUT": "42",
            ], home: "/h")
        #expect(config.upstreamHeadTimeout == .seconds(42))
        #expect(config.host == "0.0.0.0")
        #expect(config.port == 7860)
        #expect(config.iflow.apiKey == "k")
        #expect(config.iflow.baseURL == "http://mirror/v1")
        #expect(config.iflow.settingsPath == "/h/alt.json")
        #expect(config.keepAliveInterval == nil)
        #expect(config.reasoning == .inline)
        #expect(config.httpsProxy == "http://proxy:3128")
    }

    @Test func flagsOverrideEnvironment() throws {
        let config = try GatewayConfig.resolve(
            flags: .init(host: "::1", port: 9000, keepAliveSeconds: 5, reasoning: "drop"),
            environment: [
                "HOST": "0.0.0.0", "PORT": "7860", "FLOWGATE_KEEPALIVE": "30", "FLOWGATE_REASONING": "inline",
            ],
            home: "/h")
        #expect(config.host == "::1")
        #expect(config.port == 9000)
        #expect(config.keepAliveInterval == .seconds(5))
        #expect(config.reasoning == .drop)
    }

    @Test func emptyEnvironmentValuesCountAsUnset() throws {
        let config = try GatewayConfig.resolve(
            flags: .init(), environment: ["PORT": "", "IFLOW_API_KEY": ""], home: "/h")
        #expect(config.port == 8000)
        #expect(config.iflow.apiKey == nil)
    }

    @Test(arguments: [
        ["PORT": "eighty"], ["PORT": "70000"], ["FLOWGATE_KEEPALIVE": "-1"], ["FLOWGATE_REASONING": "loud"],
        ["IFLOW_BASE_URL": "apis.iflow.cn"], ["FLOWGATE_UPSTREAM_TIMEOUT": "0"],
    ])
    func badValuesAreClearErrors(environment: [String: String]) {
        do {
            _ = try GatewayConfig.resolve(flags: .init(), environment: environment, home: "/h")
            Issue.record("accepted \(environment)")
        } catch {
            #expect(error.message.contains(environment.keys.first!))
        }
    }

    @Test func proxyParsing() {
        #expect(UpstreamHTTPClient.proxy(from: "http://proxy.local:3128") != nil)
        #expect(UpstreamHTTPClient.proxy(from: "proxy.local:8080") != nil)
        #expect(UpstreamHTTPClient.proxy(from: "://") == nil)
    }
}

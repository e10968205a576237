import Foundation
import Providers
import Testing

@testable import Gateway
@testable import OpenAIWire

@Suite struct ConfigFileTests {
    static let full = """
        server:
          host: 0.0.0.0
          port: 7860
          api_keys: [sk-a, sk-b]
          allow_unauthenticated: false
          body_limit: 1048576
          keep_alive_seconds: 5
          reasoning: inline
          upstream_timeout_seconds: 120
          connect_timeout_seconds: 3
          read_timeout_seconds: 60
          idle_timeout_seconds: 30
          https_proxy: http://proxy:3128
        providers:
          - name: iflow
            kind: iflow
            api_key: sk-iflow
            settings: ~/custom/settings.json
            base_url: https://mirror.example/v1
            models_file: ~/models.json
            max_concurrency: 2
            queue_limit: 10
            queue_timeout_seconds: 30
            aliases: {fast: glm-4.7}
          - name: flowith
            kind: flowith
            base_url: https://edge.example
            tokens: [t1]
            accounts:
              - token: t2
                refresh_token: r2
            refresh_token: r1
            refresh_url: https://auth.example/token
            replace_models: true
            max_concurrency: 1
          - name: deepseek
            kind: openai
            base_url: https://api.deepseek.com/v1
            api_key: sk-ds
            models: [deepseek-chat]
            headers: {X-Team: blue}
        aliases:
          gpt-4o: deepseek/deepseek-chat
        """

    func resolve(_ yaml: String?, env: [String: String] = [:], flags: CommandLineOverrides = .init())
        throws(ConfigError)
        -> GatewayConfig
    {
        try GatewayConfig.resolve(
            flags: flags, environment: env, home: "/home/u",
            readFile: { path in path == "/home/u/.flowgate/config.yaml" ? yaml : nil })
    }

    @Test func clientKeysMayBeNamed() throws {
        let config = try resolve(
            """
            server:
              api_keys:
                - sk-plain
                - {name: alice, key: sk-alice}
            """)
        #expect(config.clientKeys == ["sk-plain", "sk-alice"])
        #expect(config.clientKeyName("sk-alice") == "alice")
        let derived = config.clientKeyName("sk-plain")
        #expect(derived.hasPrefix("key-") && derived.count == 12 && !derived.contains("plain"))
        #expect(derived == ClientKeyNames.derived(from: "sk-plain"), "the same name every time")
        #expect(derived != ClientKeyNames.derived(from: "sk-plain2"))
        for (item, complaint) in [
            ("{name: 'has space', key: k}", "needs a name"), ("{name: bob}", "needs a key"),
            ("{name: bob, key: k, role: x}", "not a known key"),
        ] {
            #expect(throws: ConfigError.self, "\(item)") { try resolve("server:\n  api_keys: [\(item)]") }
            do { _ = try resolve("server:\n  api_keys: [\(item)]") } catch {
                #expect(error.description.contains(complaint) && error.description.contains("api_keys[0]"), "\(error)")
            }
        }
        #expect(throws: ConfigError.self) {
            try resolve("server:\n  api_keys: [{name: bob, key: a}, {name: bob, key: b}]")
        }
    }

    @Test func everyKeyIsRead() throws {
        let config = try resolve(Self.full)
        #expect(config.host == "0.0.0.0")
        #expect(config.port == 7860)
        #expect(config.clientKeys == ["sk-a", "sk-b"])
        #expect(config.bodyLimit == 1_048_576)
        #expect(config.keepAliveInterval == .seconds(5))
        #expect(config.reasoning == .inline)
        #expect(config.upstreamHeadTimeout == .seconds(120))
        #expect(config.upstreamConnectTimeout == .seconds(3))
        #expect(config.upstreamReadTimeout == .seconds(60))
        #expect(config.connectionIdleTimeout == .seconds(30))
        #expect(config.httpsProxy == "http://proxy:3128")
        #expect(config.aliases == ["gpt-4o": "deepseek/deepseek-chat"])
        #expect(config.providers.map(\.name) == ["iflow", "flowith", "deepseek"])
        guard let iflow = config.providers[0] as? IFlowConfig, let flowith = config.providers[1] as? FlowithConfig,
            let deepseek = config.providers[2] as? OpenAICompatibleConfig
        else {
            Issue.record("kinds")
            return
        }
        #expect(iflow.apiKey == "sk-iflow")
        #expect(iflow.settingsPath == "/home/u/custom/settings.json")
        #expect(iflow.baseURL == "https://mirror.example/v1")
        #expect(iflow.modelsPath == "/home/u/models.json")
        #expect(iflow.concurrency == .init(limit: 2, maxWaiting: 10, waitTimeout: .seconds(30)))
        #expect(iflow.aliases == ["fast": "glm-4.7"])
        #expect(flowith.accounts == [.init(token: "t1", refreshToken: "r1"), .init(token: "t2", refreshToken: "r2")])
        #expect(flowith.baseURL == "https://edge.example")
        #expect(flowith.refreshURL == "https://auth.example/token")
        #expect(flowith.replaceModels)
        #expect(flowith.concurrency.limit == 1)
        #expect(deepseek.baseURL == "https://api.deepseek.com/v1")
        #expect(deepseek.apiKey == "sk-ds")
        #expect(deepseek.models == ["deepseek-chat"])
        #expect(deepseek.headers == ["X-Team": "blue"])
    }

    @Test func precedenceFlagsThenEnvironmentThenFileThenDefaults() throws {
        let yaml = "server:\n  port: 7000\n  host: 10.0.0.1\n  keep_alive_seconds: 3\n  api_keys: [k]\n"
        #expect(try resolve(nil).port == 8000, "default")
        #expect(try resolve(yaml).port == 7000, "file over default")
        #expect(try resolve(yaml, env: ["PORT": "7100"]).port == 7100, "environment over file")
        #expect(
            try resolve(yaml, env: ["PORT": "7100"], flags: .init(port: 7200)).port == 7200, "flag over environment")
        let mixed = try resolve(yaml, env: ["HOST": "127.0.0.2"])
        #expect(mixed.host == "127.0.0.2")
        #expect(mixed.keepAliveInterval == .seconds(3), "untouched file values stay")
    }

    @Test func configPathFromFlagOrEnvironment() throws {
        let files = ["/etc/flowgate.yaml": "server:\n  port: 9100\n", "/srv/other.yaml": "server:\n  port: 9200\n"]
        let read: (String) -> String? = { files[$0] }
        let byEnv = try GatewayConfig.resolve(
            flags: .init(), environment: ["FLOWGATE_CONFIG": "/etc/flowgate.yaml"], home: "/h", readFile: read)
        #expect(byEnv.port == 9100)
        let byFlag = try GatewayConfig.resolve(
            flags: .init(configPath: "/srv/other.yaml"), environment: ["FLOWGATE_CONFIG": "/etc/flowgate.yaml"],
            home: "/h",
            readFile: read)
        #expect(byFlag.port == 9200)
        #expect(throws: ConfigError.self) {
            try GatewayConfig.resolve(
                flags: .init(configPath: "/missing.yaml"), environment: [:], home: "/h", readFile: read)
        }
    }

    @Test func environmentConfiguresFlowithAccounts() throws {
        let config = try resolve(
            nil,
            env: ["FLOWITH_AUTH_TOKEN": "a, b", "FLOWITH_REFRESH_TOKEN": "ra", "FLOWITH_BASE_URL": "http://x.example"])
        #expect(config.providers.map(\.kind) == ["iflow", "flowith"])
        guard let flowith = config.providers[1] as? FlowithConfig else { return }
        #expect(flowith.accounts == [.init(token: "a", refreshToken: "ra"), .init(token: "b")])
        #expect(flowith.baseURL == "http://x.example")
    }

    @Test(arguments: [
        ("server:\n  prot: 1\n", "server.prot"),
        ("providers:\n  - kind: flowith\n    tokenz: [a]\n", "providers[0].tokenz"),
        ("providers:\n  - kind: openai\n    name: x\n    base_url: http://x\n    model: [a]\n", "providers[0].model"),
        ("extras: 1\n", "extras"),
    ])
    func unknownKeysAreErrorsNamingThePath(yaml: String, path: String) {
        do {
            _ = try resolve(yaml)
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains(path), "\(error.message)")
            #expect(error.message.contains("config.yaml:"), "says which file and line")
        }
    }

    @Test func badYAMLSaysWhichLine() {
        do {
            _ = try resolve("server:\n  port: 1\n  host: [unclosed\n")
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("not valid YAML"))
            #expect(
                error.message.contains("line") || error.message.contains(":3:") || error.message.contains("4:"),
                "\(error.message)")
        }
    }

    @Test(arguments: [
        "server:\n  port: high\n", "server:\n  port: 70000\n", "server:\n  reasoning: loud\n",
        "providers:\n  - kind: alien\n", "providers:\n  - name: a\n", "providers: {a: 1}\n",
        "providers:\n  - kind: openai\n    name: a/b\n    base_url: http://x\n",
        "providers:\n  - kind: openai\n    name: a\n    base_url: ftp://x\n",
        "providers:\n  - {kind: iflow, name: same}\n  - {kind: iflow, name: same}\n",
    ])
    func wrongValuesAreClearErrors(yaml: String) {
        #expect(throws: ConfigError.self) { try resolve(yaml) }
    }

    @Test func dotEnvLines() {
        let parsed = DotEnv.parse(
            """
            # comment
            FLOWITH_AUTH_TOKEN=abc.def.ghi
            export API_KEY="sk-1,sk-2"
            EMPTY=
            QUOTED='x y'
            TRAILING=v # note
            """)
        #expect(
            parsed == [
                "FLOWITH_AUTH_TOKEN": "abc.def.ghi", "API_KEY": "sk-1,sk-2", "EMPTY": "", "QUOTED": "x y",
                "TRAILING": "v",
            ])
    }
}

@Suite struct AliasFileTests {
    @Test func aliasesFileUsesTheModelsJSONFormat() throws {
        let path = NSTemporaryDirectory() + "flowgate-aliases-\(UUID().uuidString).json"
        try Data(#"{"gpt-4o-mini": "glm-4.7", "coder": "qwen3-coder-plus"}"#.utf8).write(to: URL(fileURLWithPath: path))
        let yaml =
            "providers:\n  - kind: iflow\n    name: iflow\n    aliases_file: \(path)\n    aliases: {fast: glm-5}\n"
        let config = try GatewayConfig.resolve(
            flags: .init(), environment: [:], home: "/h", readFile: { $0 == "/h/.flowgate/config.yaml" ? yaml : nil })
        #expect(config.iflow.aliases == ["gpt-4o-mini": "glm-4.7", "coder": "qwen3-coder-plus", "fast": "glm-5"])
        let broken = "providers:\n  - kind: iflow\n    aliases_file: /nonexistent.json\n"
        #expect(throws: ConfigError.self) {
            try GatewayConfig.resolve(
                flags: .init(), environment: [:], home: "/h",
                readFile: { $0 == "/h/.flowgate/config.yaml" ? broken : nil })
        }
    }
}

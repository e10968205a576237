import Foundation
import OpenAIWire
import Providers
import Yams

/// The YAML config file (docs/configuration.md). Strict: an unknown key is an error naming its
/// path and line, never silently ignored. Only the keys present change `config`.
enum ConfigFile {
    static func apply(
        yaml: String, origin: String, home: String, kinds: [any ProviderKind] = ProviderKinds.builtIn,
        environment: [String: String] = [:], to config: inout GatewayConfig
    ) throws(ConfigError) {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { return }  // an empty file
            root = node
        } catch {
            throw ConfigError("\(origin): not valid YAML: \(error)")
        }
        let file = ConfigNode(node: root, path: "", origin: origin)
        let top = try file.mapping(allowed: Keys.top)
        if let server = top["server"] { try applyServer(server, to: &config) }
        if let providers = top["providers"] {
            config.providers = try providers.list().map { node throws(ConfigError) in
                try provider(node, home: home, kinds: kinds, environment: environment)
            }
        }
        if let store = top["store"] { config.store = try store.string() }
        if let aliases = top["aliases"] { config.aliases = try aliases.stringMap() }
        if let fallbacks = top["fallbacks"] {
            config.fallbacks = [:]
            for (model, targets) in try fallbacks.mapping(allowed: nil) {
                config.fallbacks[model] = try targets.stringList()
            }
        }
    }

    private static func applyServer(_ node: ConfigNode, to config: inout GatewayConfig) throws(ConfigError) {
        let server = try node.mapping(allowed: Keys.server)
        if let v = server["host"] { config.host = try v.string() }
        if let v = server["port"] { config.port = try v.int(in: 0...65535) }
        if let v = server["api_keys"] { (config.clientKeys, config.clientKeyNames) = try clientKeys(v) }
        if let v = server["allow_unauthenticated"] { config.allowUnauthenticated = try v.bool() }
        if let v = server["metrics"] { config.metricsEnabled = try v.bool() }
        if let v = server["usage"] { config.usageEnabled = try v.bool() }
        if let v = server["usage_retention_days"] { config.usageRetentionDays = try v.int(in: 1...3650) }
        if let v = server["response_retention_days"] { config.responseRetentionDays = try v.int(in: 1...3650) }
        if let v = server["body_limit"] { config.bodyLimit = try v.int(in: 1024...(1 << 30)) }
        if let v = server["keep_alive_seconds"] {
            let seconds = try v.int(in: 0...3600)
            config.keepAliveInterval = seconds == 0 ? nil : .seconds(seconds)
        }
        if let v = server["reasoning"] {
            let text = try v.string()
            guard let mode = ReasoningOutput(rawValue: text) else {
                throw v.error("must be one of \(ReasoningOutput.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.reasoning = mode
        }
        if let v = server["upstream_timeout_seconds"] {
            config.upstreamHeadTimeout = .seconds(try v.int(in: 1...86400))
        }
        if let v = server["connect_timeout_seconds"] {
            config.upstreamConnectTimeout = .seconds(try v.int(in: 1...600))
        }
        if let v = server["read_timeout_seconds"] { config.upstreamReadTimeout = .seconds(try v.int(in: 1...86400)) }
        if let v = server["idle_timeout_seconds"] { config.connectionIdleTimeout = .seconds(try v.int(in: 1...86400)) }
        if let v = server["https_proxy"] { config.httpsProxy = try v.string() }
        if let v = server["admin_key"] { config.adminKey = try v.string() }
        if let v = server["allowed_hosts"] { config.allowedHosts = try v.stringList() }
        if let v = server["public_url"] { config.publicURL = try v.string() }
        if let v = server["cors_origins"] { config.corsOrigins = try v.stringList() }
        if let v = server["trusted_proxies"] { config.trustedProxies = try v.stringList() }
        if let v = server["request_timeout_seconds"] { config.requestReadTimeout = .seconds(try v.int(in: 1...3600)) }
        if let v = server["shutdown_grace_seconds"] { config.shutdownGrace = .seconds(try v.int(in: 0...3600)) }
        if let v = server["max_attempts"] { config.maxAttempts = try v.int(in: 1...10) }
    }

    /// Every key the file may hold, by place (docs/configuration.md is checked against these).
    enum Keys {
        static let top: Set<String> = ["server", "providers", "aliases", "fallbacks", "store"]
        static let server: Set<String> = [
            "host", "port", "api_keys", "allow_unauthenticated", "body_limit", "keep_alive_seconds", "reasoning",
            "upstream_timeout_seconds", "connect_timeout_seconds", "read_timeout_seconds", "idle_timeout_seconds",
            "https_proxy", "admin_key", "allowed_hosts", "public_url", "cors_origins", "request_timeout_seconds",
            "shutdown_grace_seconds", "trusted_proxies", "max_attempts", "metrics", "usage", "usage_retention_days",
            "response_retention_days",
        ]

        /// With every built-in kind's keys.
        static var all: Set<String> {
            ProviderKinds.builtIn.reduce(top.union(server).union(ProviderKinds.commonKeys)) {
                $0.union($1.sectionKeys).union($1.nestedKeys)
            }
        }
    }

    /// `api_keys`: each a key, or `{name, key}` (docs/configuration.md); names are unique.
    private static func clientKeys(_ node: ConfigNode) throws(ConfigError) -> ([String], [String: String]) {
        var keys: [String] = []
        var names: [String: String] = [:]
        for item in try node.list() {
            guard case .mapping = item.node else {
                keys.append(try item.string())
                continue
            }
            let entry = try item.mapping(allowed: ["name", "key"])
            guard let name = try entry["name"]?.string(), ClientKeyNames.isValid(name) else {
                throw item.error("needs a name of 1 to 64 letters, digits, '-', '_', '.' or '@'")
            }
            guard let key = try entry["key"]?.string(), !key.isEmpty else { throw item.error("needs a key") }
            if names.values.contains(name) { throw item.error("repeats the name '\(name)'") }
            keys.append(key)
            names[key] = name
        }
        return (keys, names)
    }

    /// `aliases` inline, plus `aliases_file`: a mapping file in the models.json format.
    private static func aliases(_ m: [String: ConfigNode], home: String) throws(ConfigError) -> [String: String] {
        var result = try m["aliases"]?.stringMap() ?? [:]
        if let file = m["aliases_file"] {
            let path = try file.string()
            do {
                for (name, target) in try ModelMapping.load(ConfigChecks.expandHome(path, home: home)) {
                    result[name] = target
                }
            } catch {
                throw file.error("cannot be used: \(error)")
            }
        }
        return result
    }

    /// A provider's section: the common keys here, the rest by its kind.
    private static func provider(
        _ node: ConfigNode, home: String, kinds: [any ProviderKind], environment: [String: String]
    ) throws(ConfigError) -> any ProviderConfig {
        let names = kinds.map(\.kind).joined(separator: ", ")
        guard let kindNode = try node.mapping(allowed: nil)["kind"] else { throw node.error("needs a 'kind' (\(names))") }
        let kindName = try kindNode.string()
        guard let kind = kinds.first(where: { $0.kind == kindName }) else { throw kindNode.error("must be one of \(names)") }
        let m = try node.mapping(allowed: ProviderKinds.commonKeys.union(kind.sectionKeys))
        var config = try kind.config(from: YAMLSection(node: node, entries: m, environment: environment))
        let aliases = try aliases(m, home: home)
        if !aliases.isEmpty { config.aliases = aliases }
        try applyQueue(m, to: &config.concurrency)
        if let v = m["strategy"] {
            let text = try v.string()
            guard let strategy = AccountPool.Strategy(rawValue: text) else {
                throw v.error("must be one of \(AccountPool.Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.strategy = strategy
        }
        return config
    }

    private static func applyQueue(_ m: [String: ConfigNode], to queue: inout AccountQueue.Settings) throws(ConfigError)
    {
        if let v = m["max_concurrency"] { queue.limit = try v.int(in: 0...100_000) }
        if let v = m["queue_limit"] { queue.maxWaiting = try v.int(in: 0...100_000) }
        if let v = m["queue_timeout_seconds"] { queue.waitTimeout = .seconds(try v.int(in: 1...86400)) }
    }
}

/// A provider's section as its kind reads it, with errors that name path and line.
struct YAMLSection: ConfigSection {
    let node: ConfigNode
    let entries: [String: ConfigNode]
    let environment: [String: String]

    func string(_ key: String) throws(ConfigError) -> String? { try entries[key]?.string() }
    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? { try entries[key]?.int(in: range) }
    func bool(_ key: String) throws(ConfigError) -> Bool? { try entries[key]?.bool() }
    func strings(_ key: String) throws(ConfigError) -> [String]? { try entries[key]?.stringList() }
    func stringMap(_ key: String) throws(ConfigError) -> [String: String]? { try entries[key]?.stringMap() }

    func sections(_ key: String, keys: Set<String>) throws(ConfigError) -> [any ConfigSection]? {
        try entries[key]?.list().map { item throws(ConfigError) in
            YAMLSection(node: item, entries: try item.mapping(allowed: keys), environment: environment)
        }
    }

    func error(_ key: String?, _ message: String) -> ConfigError {
        (key.flatMap { entries[$0] } ?? node).error(message)
    }
}

/// A YAML node with the path that led to it, for errors that say where.
struct ConfigNode {
    let node: Node
    let path: String
    let origin: String

    func error(_ message: String) -> ConfigError {
        let line = node.mark.map { ":\($0.line)" } ?? ""
        return ConfigError("\(origin)\(line): \(path.isEmpty ? "the file" : path) \(message).")
    }

    /// The mapping's entries; with `allowed`, any other key is an error naming its path.
    func mapping(allowed: Set<String>?) throws(ConfigError) -> [String: ConfigNode] {
        guard case .mapping(let mapping) = node else { throw error("must be a mapping") }
        var result: [String: ConfigNode] = [:]
        for (key, value) in mapping {
            let name = key.string ?? "?"
            let child = ConfigNode(node: value, path: path.isEmpty ? name : "\(path).\(name)", origin: origin)
            if let allowed, !allowed.contains(name) {
                let keyNode = ConfigNode(node: key, path: child.path, origin: origin)
                throw keyNode.error("is not a known key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
            result[name] = child
        }
        return result
    }

    func list() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("must be a list") }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]", origin: origin) }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error("must be a string") }
        return scalar.string
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let value = node.int else { throw error("must be a whole number") }
        guard range.contains(value) else { throw error("must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        guard let value = node.bool else { throw error("must be true or false") }
        return value
    }

    func stringList() throws(ConfigError) -> [String] {
        try list().map { item throws(ConfigError) in try item.string() }
    }

    func stringMap() throws(ConfigError) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in try mapping(allowed: nil) { result[key] = try value.string() }
        return result
    }
}

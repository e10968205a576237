import OpenAIWire
import Providers

/// docs/protocols/openai-chat.md "Model routing": a bare id goes to the first provider (in configuration
/// order) that lists it; `provider/model` always goes to the named provider; aliases
/// map client-facing names first (globally, then per provider).
public struct ModelRouter: Sendable {
    public struct Entry: Sendable {
        public let provider: any ChatProvider
        /// Client-facing name → the provider's model id.
        public let aliases: [String: String]

        public init(provider: any ChatProvider, aliases: [String: String] = [:]) {
            self.provider = provider
            self.aliases = aliases
        }

        func lists(_ id: String) -> Bool { aliases[id] != nil || provider.modelIDs.contains(id) }

        func upstreamModel(for id: String) -> String { provider.upstreamModel(for: aliases[id] ?? id) }
    }

    public let entries: [Entry]
    /// Client-facing name → a bare or qualified id.
    public let aliases: [String: String]

    public init(entries: [Entry], aliases: [String: String] = [:]) {
        self.entries = entries
        self.aliases = aliases
    }

    public var providers: [any ChatProvider] { entries.map(\.provider) }

    public struct Route: Sendable {
        public let provider: any ChatProvider
        /// The id the upstream knows the model by.
        public let upstreamModel: String
    }

    public func route(_ requested: String) throws(OpenAIError) -> Route {
        let model = aliases[requested] ?? requested
        if let slash = model.firstIndex(of: "/") {
            let prefix = model[..<slash]
            let rest = String(model[model.index(after: slash)...])
            if let entry = entries.first(where: { $0.provider.name == prefix }), !rest.isEmpty {
                return Route(provider: entry.provider, upstreamModel: entry.upstreamModel(for: rest))
            }
        }
        if let entry = entries.first(where: { $0.lists(model) }) {
            return Route(provider: entry.provider, upstreamModel: entry.upstreamModel(for: model))
        }
        throw .modelNotFound(requested, known: entries.flatMap { Array($0.aliases.keys) + $0.provider.modelIDs })
    }

    /// Routes, asking upstreams with fetched lists for news first when nobody lists the model.
    public func routeRefreshing(_ requested: String) async throws(OpenAIError) -> Route {
        do {
            return try route(requested)
        } catch  where error.code == "model_not_found" {
            for entry in entries { await entry.provider.refreshModels() }
            return try route(requested)
        }
    }

    public struct Listing: Sendable, Equatable {
        public let id: String
        public let ownedBy: String

        public init(id: String, ownedBy: String) {
            self.id = id
            self.ownedBy = ownedBy
        }
    }

    /// The merged list for /v1/models: providers that have credentials, in order;
    /// an id already served by an earlier provider is listed qualified; aliases too.
    public func listing() -> [Listing] {
        var seen: Set<String> = []
        var result: [Listing] = []
        for entry in entries where entry.provider.status().state != .unconfigured {
            for id in entry.provider.modelIDs + entry.aliases.keys.sorted() {
                let listed = seen.insert(id).inserted ? id : "\(entry.provider.name)/\(id)"
                result.append(Listing(id: listed, ownedBy: entry.provider.name))
            }
        }
        for (alias, target) in aliases.sorted(by: { $0.key < $1.key }) where seen.insert(alias).inserted {
            if let route = try? route(target), route.provider.status().state != .unconfigured {
                result.append(Listing(id: alias, ownedBy: route.provider.name))
            }
        }
        return result
    }
}

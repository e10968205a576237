import OpenAIWire
import Providers

/// docs/configuration.md, `aliases`: a bare id goes to the first provider (in configuration
/// order) that lists it; `provider/model` always goes to the named provider; aliases
/// map client-facing names first (globally, then per provider). An alias ending in `*`
/// matches every id with that prefix, but only when no exact id or alias does; the
/// longest prefix wins (`claude-opus-*` before `claude-*`).
package struct ModelRouter: Sendable {
    package struct Entry: Sendable {
        package let provider: any ChatProvider
        /// Client-facing name → the provider's model id.
        package let aliases: [String: String]

        package init(provider: any ChatProvider, aliases: [String: String] = [:]) {
            self.provider = provider
            self.aliases = aliases
        }

        func lists(_ id: String) -> Bool {
            (aliases[id] != nil && !id.hasSuffix("*")) || provider.modelIDs.contains(id)
        }

        func upstreamModel(for id: String) -> String { provider.upstreamModel(for: aliases[id] ?? id) }
    }

    package let entries: [Entry]
    /// Client-facing name → a bare or qualified id.
    package let aliases: [String: String]

    /// Aliases ending in `*`, global and per provider, longest prefix first.
    private let wildcards: [Wildcard]

    private struct Wildcard: Sendable {
        let prefix: String
        let target: String
        /// The provider whose aliases hold it; nil for a global one.
        let entry: Int?
    }

    package init(entries: [Entry], aliases: [String: String] = [:]) {
        self.entries = entries
        self.aliases = aliases
        var wildcards: [Wildcard] = []
        for (pattern, target) in aliases where pattern.hasSuffix("*") {
            wildcards.append(Wildcard(prefix: String(pattern.dropLast()), target: target, entry: nil))
        }
        for (index, entry) in entries.enumerated() {
            for (pattern, target) in entry.aliases where pattern.hasSuffix("*") {
                wildcards.append(Wildcard(prefix: String(pattern.dropLast()), target: target, entry: index))
            }
        }
        // Longest prefix first; for equal prefixes, global before per provider, then configuration order.
        self.wildcards = wildcards.sorted { a, b in
            a.prefix.count != b.prefix.count ? a.prefix.count > b.prefix.count : (a.entry ?? -1) < (b.entry ?? -1)
        }
    }

    package var providers: [any ChatProvider] { entries.map(\.provider) }

    package struct Route: Sendable {
        package let provider: any ChatProvider
        /// The id the upstream knows the model by.
        package let upstreamModel: String
    }

    package func route(_ requested: String) throws(GatewayError) -> Route {
        if let route = exactRoute(requested) { return route }
        if let wildcard = wildcards.first(where: { requested.hasPrefix($0.prefix) }) {
            if let index = wildcard.entry {
                let entry = entries[index]
                return Route(provider: entry.provider, upstreamModel: entry.provider.upstreamModel(for: wildcard.target))
            }
            if let route = exactRoute(wildcard.target) { return route }
        }
        throw .modelNotFound(
            requested, known: entries.flatMap { $0.aliases.keys.filter { !$0.hasSuffix("*") } + $0.provider.modelIDs })
    }

    private func exactRoute(_ requested: String) -> Route? {
        let model = (requested.hasSuffix("*") ? nil : aliases[requested]) ?? requested
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
        return nil
    }

    /// Routes, asking upstreams with fetched lists for news first when nobody lists the model.
    package func routeRefreshing(_ requested: String) async throws(GatewayError) -> Route {
        do {
            return try route(requested)
        } catch where error.kind == .modelNotFound {
            for entry in entries { await entry.provider.refreshModels() }
            return try route(requested)
        }
    }

    package struct Listing: Sendable, Equatable {
        package let id: String
        package let ownedBy: String

        package init(id: String, ownedBy: String) {
            self.id = id
            self.ownedBy = ownedBy
        }
    }

    /// The merged list for /v1/models: providers that have credentials, in order;
    /// an id already served by an earlier provider is listed qualified; aliases too.
    package func listing() -> [Listing] {
        var seen: Set<String> = []
        var result: [Listing] = []
        for entry in entries where entry.provider.status().state != .unconfigured {
            for id in entry.provider.modelIDs + entry.aliases.keys.sorted() where !id.hasSuffix("*") {
                let listed = seen.insert(id).inserted ? id : "\(entry.provider.name)/\(id)"
                result.append(Listing(id: listed, ownedBy: entry.provider.name))
            }
        }
        for (alias, target) in aliases.sorted(by: { $0.key < $1.key })
        where !alias.hasSuffix("*") && seen.insert(alias).inserted {
            if let route = try? route(target), route.provider.status().state != .unconfigured {
                result.append(Listing(id: alias, ownedBy: route.provider.name))
            }
        }
        return result
    }
}

import OpenAIWire
import Providers

/// SPEC 2 "Model routing": a bare id goes to the first provider (in configuration
/// order) that lists it; `provider/model` always goes to the named provider.
public struct ModelRouter: Sendable {
    public let providers: [any ChatProvider]

    public init(providers: [any ChatProvider]) {
        self.providers = providers
    }

    public struct Route: Sendable {
        public let provider: any ChatProvider
        /// The id the upstream knows the model by.
        public let upstreamModel: String
    }

    public func route(_ model: String) throws(OpenAIError) -> Route {
        if let slash = model.firstIndex(of: "/") {
            let prefix = model[..<slash]
            let rest = String(model[model.index(after: slash)...])
            if let provider = providers.first(where: { $0.name == prefix }), !rest.isEmpty {
                return Route(provider: provider, upstreamModel: rest)
            }
        }
        if let provider = providers.first(where: { $0.modelIDs.contains(model) }) {
            return Route(provider: provider, upstreamModel: model)
        }
        throw .modelNotFound(model, known: providers.flatMap(\.modelIDs))
    }

    public struct Listing: Sendable, Equatable {
        public let id: String
        public let ownedBy: String
    }

    /// The merged list for /v1/models: providers that have credentials, in order;
    /// an id already served by an earlier provider is listed qualified.
    public func listing() -> [Listing] {
        var seen: Set<String> = []
        var result: [Listing] = []
        for provider in providers where provider.status().state != .unconfigured {
            for id in provider.modelIDs {
                let listed = seen.insert(id).inserted ? id : "\(provider.name)/\(id)"
                result.append(Listing(id: listed, ownedBy: provider.name))
            }
        }
        return result
    }
}

import Hummingbird
import OpenAIWire

/// GET /v1/models (docs/protocols/openai-chat.md): the merged list, `owned_by` = provider name.
struct ModelsRoute: Sendable {
    let live: LiveProviders
    /// Reported as `created` (the upstreams publish no dates).
    let created: Int64

    static let paths = ["/v1/models", "/models"]

    func respond() -> Response {
        let body: JSON = ["object": "list", "data": .array(live.current.models.listing().map(object))]
        return .json(body)
    }

    /// GET /v1/models/{id} (`client.models.retrieve`): a listed id, or any id a request
    /// could use (qualified, alias) on a provider with credentials; else 404.
    func retrieve(_ id: String) throws(GatewayError) -> Response {
        let models = live.current.models
        let listing = models.listing()
        if let entry = listing.first(where: { $0.id == id }) { return .json(object(entry)) }
        if let route = try? models.route(id), route.provider.status().state != .unconfigured {
            return .json(object(.init(id: id, ownedBy: route.provider.name)))
        }
        throw .modelNotFound(id, known: listing.map(\.id))
    }

    private func object(_ entry: ModelRouter.Listing) -> JSON {
        ["id": .string(entry.id), "object": "model", "created": .int(created), "owned_by": .string(entry.ownedBy)]
    }
}

import Hummingbird
import OpenAIWire

/// GET /v1/models (SPEC 2): the merged list, `owned_by` = provider name.
struct ModelsRoute: Sendable {
    let models: ModelRouter
    /// Reported as `created` (the upstreams publish no dates).
    let created: Int64

    static let paths = ["/v1/models", "/models"]

    func respond() -> Response {
        let data: [JSON] = models.listing().map { entry in
            ["id": .string(entry.id), "object": "model", "created": .int(created), "owned_by": .string(entry.ownedBy)]
        }
        let body: JSON = ["object": "list", "data": .array(data)]
        return .json(body)
    }
}

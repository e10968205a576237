import Hummingbird
import OpenAIWire
import Providers

/// GET /health (SPEC 2): provider states from memory; never calls an upstream, never needs a key.
struct HealthRoute: Sendable {
    let providers: [any ChatProvider]

    func respond() -> Response {
        var entries: JSONObject = [:]
        var usable = false
        var broken = false
        for provider in providers {
            let status = provider.status()
            usable = usable || status.state == .ok
            broken = broken || status.state == .needsSignIn
            entries[provider.name] = [
                "kind": .string(provider.kind), "state": .string(status.state.rawValue),
                "accounts": .int(Int64(status.accounts)), "models": .int(Int64(provider.modelIDs.count)),
                "detail": .string(status.detail),
            ]
        }
        let body: JSON = [
            "status": usable && !broken ? "ok" : "degraded", "version": .string(FlowgateVersion.current),
            "providers": .object(entries),
        ]
        return .json(body)
    }
}

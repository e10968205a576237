import Foundation
import Hummingbird
import OpenAIWire
import Providers

/// GET /health (docs/protocols/openai-chat.md): provider states from memory; never calls an
/// upstream, never needs a key.
struct HealthRoute: Sendable {
    let providers: [any ChatProvider]

    func respond() -> Response {
        var entries: JSONObject = [:]
        var usable = false
        var broken = false
        for provider in providers {
            let status = provider.status()
            usable = usable || status.state == .ok
            broken = broken || status.state == .needsSignIn || status.state == .unreachable
            var entry: JSONObject = [
                "kind": .string(provider.kind), "state": .string(status.state.rawValue),
                "accounts": .int(Int64(status.accounts)), "models": .int(Int64(provider.modelIDs.count)),
                "detail": .string(status.detail),
            ]
            if let tokenState = status.tokenState { entry["token_state"] = .string(tokenState) }
            if !status.tokenExpiries.isEmpty {
                entry["token_expires_at"] = .array(status.tokenExpiries.map { .string($0.formatted(.iso8601)) })
            }
            entries[provider.name] = .object(entry)
        }
        let body: JSON = [
            "status": usable && !broken ? "ok" : "degraded", "version": .string(FlowgateVersion.current),
            "providers": .object(entries),
        ]
        return .json(body)
    }
}

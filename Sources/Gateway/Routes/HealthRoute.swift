import Foundation
import Hummingbird
import OpenAIWire
import Providers
import Stores

/// GET /health (docs/protocols/openai-chat.md): provider states from memory; never calls an
/// upstream, never needs a key.
struct HealthRoute: Sendable {
    let live: LiveProviders
    let store: any StateStore

    func respond() -> Response {
        var entries: JSONObject = [:]
        var usable = false
        var broken = false
        for provider in live.current.providers {
            let status = provider.status()
            usable = usable || status.state == .ok
            broken = broken || status.state == .needsSignIn || status.state == .unreachable
            var entry: JSONObject = [
                "kind": .string(provider.kind), "state": .string(status.state.rawValue),
                "models": .int(Int64(provider.modelIDs.count)),
                "detail": .string(status.detail),
            ]
            if let tokenState = status.tokenState { entry["token_state"] = .string(tokenState) }
            if !status.tokenExpiries.isEmpty {
                entry["token_expires_at"] = .array(status.tokenExpiries.map { .string($0.formatted(.iso8601)) })
            }
            entry["accounts"] = .array(Self.accounts(of: provider).map(JSON.object))
            entries[provider.name] = .object(entry)
        }
        // A failing store does not stop requests (they run on local state) but is worth a look.
        let fault = store.fault
        var storeEntry: JSONObject = ["kind": .string(store.kind)]
        if let fault { storeEntry["fault"] = .string(fault) }
        let body: JSON = [
            "status": usable && !broken && fault == nil ? "ok" : "degraded", "version": .string(FlowgateVersion.current),
            "store": .object(storeEntry), "providers": .object(entries),
        ]
        return .json(body)
    }

    /// docs/architecture.md, "Account pools": each account's state, load and key hint (never the key).
    static func accounts(of provider: any ChatProvider) -> [JSONObject] {
        provider.accounts.status().map { account in
            let detail = provider.accountDetail(account.index)
            var entry: JSONObject = [
                "name": .string(account.name), "state": .string(account.state),
                "cooling_until": account.coolingUntil.map { .string($0.formatted(.iso8601)) } ?? .null,
                "in_flight": .int(Int64(account.inFlight)), "queued": .int(Int64(account.queued)),
                "key_hint": detail.keyHint.map(JSON.string) ?? .null,
            ]
            if let expiry = detail.tokenExpiry { entry["token_expires_at"] = .string(expiry.formatted(.iso8601)) }
            if let source = detail.source { entry["source"] = .string(source) }
            return entry
        }
    }
}

import HTTPTypes
import HummingbirdTesting
import Testing

@testable import Gateway

/// `/metrics` and `/admin/usage` answer only on this machine or with the admin key
/// (docs/configuration.md, "Usage" and "Metrics"); a client key opens neither.
@Suite struct OperatorRoutesTests {
    static let forwarded = HTTPField.Name("x-forwarded-for")!

    @Test(arguments: ["/metrics", "/admin/usage"])
    func refusedFromElsewhereWithoutTheAdminKey(path: String) async throws {
        // Behind a trusted proxy on 127.0.0.1, the client is the address the proxy names.
        let harness = GatewayHarness { config in
            config.trustedProxies = ["127.0.0.1"]
            config.adminKey = "admin-secret-key"
            config.clientKeys = ["sk-client"]
        }
        try await harness.run { gateway, _ in
            let remote: HTTPFields = [Self.forwarded: "203.0.113.9"]
            var withClientKey = remote
            withClientKey[.authorization] = "Bearer sk-client"
            var withAdminKey = remote
            withAdminKey[LocalOnlyGuard.adminHeader] = "admin-secret-key"
            let refused = try await gateway.execute(uri: path, method: .get, headers: remote)
            let clientOnly = try await gateway.execute(uri: path, method: .get, headers: withClientKey)
            let admin = try await gateway.execute(uri: path, method: .get, headers: withAdminKey)
            let local = try await gateway.execute(uri: path, method: .get)
            #expect(refused.status == .forbidden && refused.json?["error"]?["code"] == "console_forbidden")
            #expect(clientOnly.status == .forbidden, "a client key is not the admin key")
            #expect(admin.status == .ok && local.status == .ok)
        }
    }
}

import Foundation
import Hummingbird
import OpenAIWire
import Synchronization

/// A mock of iFlow's OAuth server (SPEC 4.1): the authorize bounce, the token
/// endpoint (checks the Basic header and form fields), and getUserInfo, whose
/// `apiKey` is derived from the access token so tests can tell keys apart.
package final class MockIFlowOAuth: Sendable {
    package struct State: Sendable {
        package var tokenCalls: [[String: String]] = []
        package var userInfoCalls = 0
        /// Valid refresh tokens; the next access token number.
        package var refreshTokens: Set<String> = []
        package var issued = 0
        /// Next token-endpoint answers forced to be transient failures (503), or invalid_grant.
        package var failNext = 0
        package var refuseRefresh = false
        package var rotateRefreshTokens = true
    }

    package let state = Mutex(State())
    package static let code = "mock-auth-code"

    /// Seconds a token from a refresh lives (iFlow's: two days), and one from a sign-in.
    package let expiresIn: Int
    package let signInExpiresIn: Int
    /// How long a refresh takes: a slow one lets two clients race for it.
    package let refreshDelay: Duration

    package init(expiresIn: Int = 172_800, signInExpiresIn: Int? = nil, refreshDelay: Duration = .zero) {
        self.expiresIn = expiresIn
        self.signInExpiresIn = signInExpiresIn ?? expiresIn
        self.refreshDelay = refreshDelay
    }

    package static func apiKey(forAccess access: String) -> String { "sk-for-\(access)" }

    package func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/oauth") { request, _ in
            let q = request.uri.queryParameters
            guard q["loginMethod"] == "phone", q["type"] == "phone", q["client_id"] == "10009311001",
                let redirect = q["redirect"].map(String.init), let state = q["state"].map(String.init),
                state.count == 64
            else { return Response(status: .badRequest) }
            let separator = redirect.contains("?") ? "&" : "?"
            return Response(
                status: .found, headers: [.location: "\(redirect)\(separator)code=\(Self.code)&state=\(state)"])
        }
        router.post("/oauth/token") { request, _ in try await self.token(request) }
        // Token calls by grant type, for tests that count refreshes across processes.
        router.get("/_mock/oauth/stats") { _, _ in
            let calls = self.state.withLock { $0.tokenCalls }
            var counts: JSONObject = [:]
            for call in calls {
                let grant = call["grant_type"] ?? "?"
                counts[grant] = .int((counts[grant]?.intValue ?? 0) + 1)
            }
            return Self.json(.ok, .object(counts))
        }
        router.get("/api/oauth/getUserInfo") { request, _ in
            self.state.withLock { $0.userInfoCalls += 1 }
            guard let access = request.uri.queryParameters["accessToken"].map(String.init), access.hasPrefix("access-")
            else {
                return Self.json(.ok, ["success": false, "message": "bad token"])
            }
            return Self.json(
                .ok,
                [
                    "success": true,
                    "data": [
                        "apiKey": .string(Self.apiKey(forAccess: access)), "userId": "u1", "userName": "Test User",
                        "email": "t@example.com", "phone": "13800000000",
                    ],
                ])
        }
    }

    private func token(_ request: Request) async throws -> Response {
        let body = String(buffer: try await request.body.collect(upTo: 1 << 16))
        var form: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { form[parts[0]] = parts[1] }
        }
        let basic = "Basic " + Data("10009311001:4Z3YjXycVsQvyGF1etiNlIBB4RsqSDtW".utf8).base64EncodedString()
        state.withLock { $0.tokenCalls.append(form) }
        guard request.headers[.authorization] == basic, form["client_id"] == "10009311001",
            form["client_secret"] == "4Z3YjXycVsQvyGF1etiNlIBB4RsqSDtW"
        else { return Self.json(.unauthorized, ["error": "invalid_client"]) }
        enum Outcome { case fail, refuse, issue(String?) }
        let outcome: Outcome = state.withLock { s in
            if s.failNext > 0 {
                s.failNext -= 1
                return .fail
            }
            switch form["grant_type"] {
            case "authorization_code" where form["code"] == Self.code && form["redirect_uri"] != nil:
                return .issue(nil)
            case "refresh_token" where !s.refuseRefresh && s.refreshTokens.contains(form["refresh_token"] ?? ""):
                return .issue(form["refresh_token"])
            default:
                return .refuse
            }
        }
        switch outcome {
        case .fail:
            return Self.json(.serviceUnavailable, ["error": "temporarily_unavailable"])
        case .refuse:
            return Self.json(.badRequest, ["error": "invalid_grant", "error_description": "refresh token is invalid"])
        case .issue(let old):
            if old != nil { try await Task.sleep(for: refreshDelay) }
            let (access, refresh) = state.withLock { s -> (String, String) in
                s.issued += 1
                let refresh = (old == nil || s.rotateRefreshTokens) ? "refresh-\(s.issued)" : old!
                if let old, s.rotateRefreshTokens { s.refreshTokens.remove(old) }
                s.refreshTokens.insert(refresh)
                return ("access-\(s.issued)", refresh)
            }
            return Self.json(
                .ok,
                [
                    "access_token": .string(access), "refresh_token": .string(refresh), "expires_in": .int(Int64(old == nil ? signInExpiresIn : expiresIn)),
                    "token_type": "bearer", "scope": "read",
                ])
        }
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSON) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: JSONCoding.buffer(value)))
    }
}

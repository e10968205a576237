import Foundation
import NIOCore
import NIOHTTP1
import OpenAIWire
import UpstreamHTTP

/// The iFlow OAuth protocol (docs/protocols/iflow.md "Credentials and sign-in"): authorize URL,
/// code exchange, refresh, and getUserInfo, whose `apiKey` is the chat key.
package struct IFlowOAuth: Sendable {
    /// Public: shipped in the official CLI.
    package static let clientID = "10009311001"
    package static let clientSecret = "4Z3YjXycVsQvyGF1etiNlIBB4RsqSDtW"

    package let baseURL: String
    let client: UpstreamClient

    package init(baseURL: String, client: UpstreamClient) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.client = client
    }

    /// What a code exchange or refresh yields, after getUserInfo.
    package struct SignIn: Sendable, Equatable {
        package var accessToken: String
        package var refreshToken: String?
        package var expiry: Date
        package var tokenType: String?
        package var scope: String?
        package var apiKey: String
        package var user: [String: String]
    }

    package enum Failure: Error, Sendable, Equatable {
        /// Worth retrying later (network, 5xx, 429, "too many" overload).
        case transient(String)
        /// The refresh token is dead: the account needs a new sign-in.
        case needsSignIn(String)
        /// Anything else the server refused.
        case rejected(String)
    }

    /// `{oauthURL}/oauth?loginMethod=phone&type=phone&redirect=…&state=…&client_id=…` (no scope, no PKCE).
    package func authorizeURL(redirect: String, state: String) -> String {
        "\(baseURL)/oauth?loginMethod=phone&type=phone&redirect=\(Self.formEncode(redirect))&state=\(state)&client_id=\(Self.clientID)"
    }

    /// 32 random bytes, hex.
    package static func makeState() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    package func exchange(code: String, redirect: String, now: Date = Date()) async throws(Failure) -> SignIn {
        try await token(
            form: [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect),
                ("client_id", Self.clientID), ("client_secret", Self.clientSecret),
            ], now: now)
    }

    package func refresh(refreshToken: String, now: Date = Date()) async throws(Failure) -> SignIn {
        try await token(
            form: [
                ("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", Self.clientID),
                ("client_secret", Self.clientSecret),
            ], now: now)
    }

    private func token(form: [(String, String)], now: Date) async throws(Failure) -> SignIn {
        let basic = Data("\(Self.clientID):\(Self.clientSecret)".utf8).base64EncodedString()
        let (status, json) = try await send(
            .POST, baseURL + "/oauth/token",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", "Basic \(basic)")],
            body: ByteBuffer(string: form.map { "\($0)=\(Self.formEncode($1))" }.joined(separator: "&")))
        try Self.classify(status: status, json: json)
        guard let access = json["access_token"]?.stringValue, !access.isEmpty else {
            throw .rejected("the token response has no access_token")
        }
        let lifetime = json["expires_in"]?.numberValue ?? 3600
        let info = try await userInfo(accessToken: access)
        return SignIn(
            accessToken: access, refreshToken: json["refresh_token"]?.stringValue,
            expiry: now.addingTimeInterval(lifetime), tokenType: json["token_type"]?.stringValue,
            scope: json["scope"]?.stringValue, apiKey: info.apiKey, user: info.user)
    }

    /// `GET {oauthURL}/api/oauth/getUserInfo?accessToken=…` → `data.apiKey`; retried on 5xx/408/429.
    package func userInfo(accessToken: String) async throws(Failure) -> (apiKey: String, user: [String: String]) {
        var lastFailure = Failure.transient("getUserInfo failed")
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(200 << attempt)) }
            let status: Int
            let json: JSON
            do {
                (status, json) = try await send(
                    .GET, baseURL + "/api/oauth/getUserInfo?accessToken=" + Self.formEncode(accessToken))
            } catch {
                lastFailure = error
                continue
            }
            if [408, 429].contains(status) || status >= 500 {
                lastFailure = .transient("getUserInfo answered HTTP \(status)")
                continue
            }
            guard status == 200, json["success"]?.boolValue == true, let data = json["data"]?.objectValue,
                let apiKey = data["apiKey"]?.stringValue, !apiKey.isEmpty
            else {
                throw .rejected("getUserInfo gave no apiKey (HTTP \(status))")
            }
            var user: [String: String] = [:]
            for key in ["userId", "userName", "email", "phone"] {
                if let value = data[key], !value.isNull {
                    user[key] = value.stringValue ?? JSONCoding.string(value)
                }
            }
            return (apiKey, user)
        }
        throw lastFailure
    }

    /// docs/protocols/iflow.md: `400 invalid_grant` needs a new sign-in; network errors, 5xx, 429 and a
    /// 200 with `success:false` saying "太多" or code "500" are transient.
    static func classify(status: Int, json: JSON) throws(Failure) {
        let message =
            json["message"]?.stringValue ?? json["msg"]?.stringValue ?? json["error_description"]?.stringValue ?? ""
        if status == 200, json["success"]?.boolValue == false {
            let code = json["code"].map { $0.stringValue ?? JSONCoding.string($0) } ?? ""
            if message.contains("太多") || code == "500" { throw .transient("iFlow is overloaded: \(message)") }
            throw .rejected("iFlow refused: \(message.isEmpty ? code : message)")
        }
        if status == 429 || status >= 500 { throw .transient("HTTP \(status) \(message)") }
        if json["error"]?.stringValue == "invalid_grant" { throw .needsSignIn("invalid_grant: \(message)") }
        if !(200..<300).contains(status) { throw .rejected("HTTP \(status) \(json["error"]?.stringValue ?? message)") }
    }

    private func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: ByteBuffer? = nil)
        async throws(Failure) -> (Int, JSON)
    {
        do {
            let response = try await client.send(
                method, to: UpstreamEndpoint(url: url), headers: headers, body: body, timeout: .seconds(30),
                maxBytes: 1 << 20)
            return (response.status, (try? JSONCoding.decode(response.body)) ?? .null)
        } catch {
            throw .transient("cannot reach \(baseURL): \(GatewayError.describe(error))")
        }
    }

    /// `application/x-www-form-urlencoded` value encoding.
    static func formEncode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

}

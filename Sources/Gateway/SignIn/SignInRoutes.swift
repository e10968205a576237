import Foundation
import HTTPTypes
import Hummingbird
import OpenAIWire
import Providers

/// `GET /login/iflow` and `GET /oauth2callback` (SPEC 2, 4.1): the browser sign-in
/// that replaces installing the iFlow CLI.
struct SignInRoutes: Sendable {
    let refresher: IFlowTokenRefresher?
    let states: OAuthStateStore
    let localOnly: LocalOnlyGuard

    func start(_ request: Request, context: GatewayRequestContext) throws -> Response {
        try localOnly.check(request, context: context)
        guard let refresher else {
            return Self.page(
                status: .notFound, title: "No iFlow provider", message: "This server has no iFlow provider configured.")
        }
        let redirect = Self.callbackURL(request)
        let state = IFlowOAuth.makeState()
        states.issue(redirect: redirect, state: state)
        return Response(
            status: .found, headers: [.location: refresher.oauth.authorizeURL(redirect: redirect, state: state)])
    }

    func callback(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try localOnly.check(request, context: context)
        guard let refresher else {
            return Self.page(
                status: .notFound, title: "No iFlow provider", message: "This server has no iFlow provider configured.")
        }
        let query = request.uri.queryParameters
        guard let state = query["state"].map(String.init), let redirect = states.consume(state) else {
            return Self.page(
                status: .badRequest, title: "Sign-in link expired",
                message:
                    "This sign-in link is unknown, already used, or older than 10 minutes. Start again from the console."
            )
        }
        guard let code = query["code"].map(String.init), !code.isEmpty else {
            return Self.page(
                status: .badRequest, title: "Sign-in cancelled",
                message: "iFlow sent no code. Start again from the console.")
        }
        do {
            let signIn = try await refresher.oauth.exchange(code: code, redirect: redirect)
            try refresher.store(signIn)
            let who = signIn.user["userName"] ?? signIn.user["phone"] ?? "your account"
            return Self.page(
                status: .ok, title: "Signed in",
                message:
                    "Signed in to iFlow as \(who). flowgate uses the new key now, and keeps it fresh. You can close this tab."
            )
        } catch {
            return Self.page(
                status: .badGateway, title: "Sign-in failed",
                message: "iFlow did not complete the sign-in (\(error)). Start again from the console.")
        }
    }

    /// Where iFlow sends the browser back: this server as the browser reached it
    /// (`localhost` for loopback addresses, as the CLI registers it).
    static func callbackURL(_ request: Request) -> String {
        let host = request.head.authority ?? "localhost"
        let port = host.split(separator: ":").last.flatMap { Int($0) }
        let name =
            host.hasPrefix("[")
            ? String(host.prefix { $0 != "]" } + "]") : String(host.split(separator: ":").first ?? "")
        let scheme = request.headers[HTTPField.Name("x-forwarded-proto")!] ?? "http"
        if name.hasPrefix("127.") || name == "localhost" || name == "[::1]" {
            return "http://localhost\(port.map { ":\($0)" } ?? "")/oauth2callback"
        }
        return "\(scheme)://\(host)/oauth2callback"
    }

    static func page(status: HTTPResponse.Status, title: String, message: String) -> Response {
        let body = HTML.page(
            title: "flowgate: \(title)",
            body:
                "<h1>\(HTML.escape(title))</h1><p>\(HTML.escape(message))</p><p><a href=\"/\">Back to the console</a></p>"
        )
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

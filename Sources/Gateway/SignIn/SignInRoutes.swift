import Foundation
import HTTPTypes
import Hummingbird
import OpenAIWire
import Providers

/// `POST /login/{provider}` and `GET /oauth2callback` (docs/security.md, "Sign-in"): the browser
/// sign-in a provider offers (iFlow's replaces installing its CLI). Starting one takes the
/// console's form (loopback or admin key, CSRF token), so no other web page can start or crowd out one.
struct SignInRoutes: Sendable {
    let live: LiveProviders
    let states: SignInStates
    let localOnly: LocalOnlyGuard
    let csrf: CSRFToken
    /// `server.public_url`: where browsers reach this server, if not on loopback.
    let publicURL: String?

    /// `/login/<provider>` starts a sign-in.
    static let startPrefix = "/login/"

    /// The sign-in the provider named `name` offers now, if any.
    private func signIn(_ name: String) -> (any BrowserSignIn)? {
        live.current.providers.first { $0.name == name }?.signIn
    }

    func start(_ request: Request, provider name: String, context: GatewayRequestContext) async throws -> Response {
        try localOnly.check(request, context: context)
        let form = String(buffer: try await request.body.collect(upTo: 4096))
        guard csrf.matches(FormBody.field("csrf", inForm: form)) else {
            return HTML.messagePage(
                status: .forbidden, title: "Sign-in not started",
                message: "Start the sign-in with the button on the console page.")
        }
        guard let signIn = signIn(name) else {
            return HTML.messagePage(
                status: .notFound, title: "No such sign-in", message: "This server has no provider '\(name)' to sign in to.")
        }
        // docs/architecture.md, "Account pools": a name adds (or renews) that account; none renews the main one.
        let account = FormBody.field("account", inForm: form)?.trimmingCharacters(in: .whitespaces)
        if let account, !account.isEmpty, !signIn.isValidAccountName(account) {
            return HTML.messagePage(
                status: .badRequest, title: "Sign-in not started",
                message: "An account name is 1 to 40 letters, digits, '-', '_' or '.', not starting with a dot.")
        }
        let redirect = Self.callbackURL(publicURL: publicURL, localPort: context.channel.localAddress?.port)
        let state = signIn.makeState()
        guard
            await states.issue(
                provider: name, redirect: redirect, account: account?.isEmpty == false ? account : nil, state: state)
        else {
            return HTML.messagePage(
                status: .tooManyRequests, title: "Too many sign-ins pending",
                message: "\(SignInStates.capacity) sign-ins are already waiting. Finish one, or try again in 10 minutes.")
        }
        return Response(status: .seeOther, headers: [.location: signIn.authorizeURL(redirect: redirect, state: state)])
    }

    func callback(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try localOnly.check(request, context: context)
        let query = request.uri.queryParameters
        guard let state = query["state"].map(String.init), let pending = await states.consume(state),
            let signIn = signIn(pending.provider)
        else {
            return HTML.messagePage(
                status: .badRequest, title: "Sign-in link expired",
                message:
                    "This sign-in link is unknown, already used, or older than 10 minutes. Start again from the console."
            )
        }
        guard let code = query["code"].map(String.init), !code.isEmpty else {
            return HTML.messagePage(
                status: .badRequest, title: "Sign-in cancelled",
                message: "\(signIn.title) sent no code. Start again from the console.")
        }
        do {
            let who = try await signIn.complete(code: code, redirect: pending.redirect, account: pending.account)
            return HTML.messagePage(
                status: .ok, title: "Signed in",
                message:
                    "Signed in to \(signIn.title) as \(who). flowgate uses the new key now, and keeps it fresh. You can close this tab."
            )
        } catch {
            return HTML.messagePage(
                status: .badGateway, title: "Sign-in failed",
                message: "\(signIn.title) did not complete the sign-in (\(error)). Start again from the console.")
        }
    }

    /// Where the sign-in sends the browser back: the configured public URL, else this server on
    /// loopback as iFlow's CLI registers it (`localhost` and the port the socket listens on).
    /// Never from request headers: whoever chose them would receive the code.
    static func callbackURL(publicURL: String?, localPort: Int?) -> String {
        if let publicURL { return publicURL + "/oauth2callback" }
        return "http://localhost\(localPort.map { ":\($0)" } ?? "")/oauth2callback"
    }
}

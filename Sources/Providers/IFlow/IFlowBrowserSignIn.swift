/// iFlow's OAuth sign-in as the console offers it (docs/protocols/iflow.md, "Sign-in"): the new
/// credentials go where the CLI keeps them, and the provider uses them at once.
struct IFlowBrowserSignIn: BrowserSignIn {
    let refresher: IFlowTokenRefresher

    var title: String { "iFlow" }

    func makeState() -> String { IFlowOAuth.makeState() }

    func authorizeURL(redirect: String, state: String) -> String {
        refresher.oauth.authorizeURL(redirect: redirect, state: state)
    }

    func complete(code: String, redirect: String) async throws -> String {
        let signIn = try await refresher.oauth.exchange(code: code, redirect: redirect)
        try refresher.store(signIn)
        return signIn.user["userName"] ?? signIn.user["phone"] ?? "your account"
    }
}

/// iFlow's OAuth sign-in as the console offers it (docs/protocols/iflow.md, "Sign-in"): the new
/// credentials go where the account keeps them (the CLI's files for `default`, else the state
/// store), and the account serves at once.
struct IFlowBrowserSignIn: BrowserSignIn {
    let provider: IFlowProvider

    var title: String { "iFlow" }

    func makeState() -> String { IFlowOAuth.makeState() }

    func authorizeURL(redirect: String, state: String) -> String {
        provider.oauthClient.authorizeURL(redirect: redirect, state: state)
    }

    func complete(code: String, redirect: String, account: String?) async throws -> String {
        let signIn = try await provider.oauthClient.exchange(code: code, redirect: redirect)
        try await provider.store(signIn, account: account ?? IFlowProvider.defaultAccount)
        return signIn.user["userName"] ?? signIn.user["phone"] ?? "your account"
    }

    func isValidAccountName(_ name: String) -> Bool { IFlowAccountFolders.isValidName(name) }
}

/// Where an account's iFlow sign-in is kept (docs/protocols/iflow.md, "Accounts"): the CLI's
/// files for `default` (`IFlowCredentialFiles`), the state store for sign-ins through flowgate
/// (`IFlowStoredSignIn`). The refresher reads and writes it through this.
package protocol IFlowSignInHome: Sendable {
    /// The sign-in as last read.
    func load() -> IFlowCredentialFiles.Stored?
    func save(_ signIn: IFlowOAuth.SignIn) async throws
    /// Runs `refresh` as the one refresh of this sign-in. Where several instances share the
    /// home and another refreshed meanwhile, reads its result instead and returns true.
    func refreshOnce(_ refresh: @Sendable () async -> Bool) async -> Bool
}

extension IFlowCredentialFiles: IFlowSignInHome {
    /// The CLI's files are this machine's: nothing to coordinate beyond the refresher's own single flight.
    package func refreshOnce(_ refresh: @Sendable () async -> Bool) async -> Bool { await refresh() }
}

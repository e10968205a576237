import Foundation
import Logging
import Synchronization

/// One iFlow account (docs/protocols/iflow.md, "Accounts"): a key from `IFLOW_API_KEY`, the
/// CLI's files (`default`), or a sign-in through flowgate kept in the state store. Each has its own credentials, sign-in refresher, session and conversation ids, and
/// the signature keyed with its key.
final class IFlowAccount: Sendable {
    enum Origin: Sendable, Equatable {
        case environment
        case cliFiles
        case signIn
    }

    let name: String
    let origin: Origin
    let credentials: IFlowCredentials
    /// Keeps an OAuth sign-in fresh (signed-in accounts only).
    let refresher: IFlowTokenRefresher?
    /// Where a sign-in through flowgate is kept.
    let stored: IFlowStoredSignIn?
    let session = IFlowRequest.Session.make()
    private let signature = Mutex<IFlowSignature?>(nil)

    init(name: String, key: String) {
        self.name = name
        self.origin = .environment
        self.credentials = IFlowCredentials(environmentKey: key, settingsPath: "")
        self.refresher = nil
        self.stored = nil
    }

    /// The CLI's account: its key in `settings.json`, with `oauth_creds.json` beside it.
    init(cliSettings settingsPath: String, oauth: IFlowOAuth, logger: Logger) {
        self.name = IFlowProvider.defaultAccount
        self.origin = .cliFiles
        let credentials = IFlowCredentials(environmentKey: nil, settingsPath: settingsPath)
        self.credentials = credentials
        self.stored = nil
        self.refresher = IFlowTokenRefresher(
            oauth: oauth, home: IFlowCredentialFiles(settingsPath: settingsPath),
            logger: logger.with(account: name), onSaved: { credentials.reload() })
    }

    /// A sign-in through flowgate, kept in the state store.
    init(stored: IFlowStoredSignIn, oauth: IFlowOAuth, logger: Logger) {
        self.name = stored.name
        self.origin = .signIn
        self.credentials = IFlowCredentials(stored: stored)
        self.stored = stored
        self.refresher = IFlowTokenRefresher(oauth: oauth, home: stored, logger: logger.with(account: stored.name))
    }

    func signature(for key: String) -> IFlowSignature {
        signature.withLock { stored in
            if let current = stored, current.apiKey == key { return current }
            let fresh = IFlowSignature(apiKey: key)
            stored = fresh
            return fresh
        }
    }

    var detail: AccountDetail {
        var expiry: Date?
        if case .ok(let date)? = refresher?.state { expiry = date }
        let source: String
        switch origin {
        case .environment: source = "IFLOW_API_KEY"
        case .cliFiles: source = expiry == nil ? "the iFlow CLI's settings.json" : "signed in (the iFlow CLI's files)"
        case .signIn: source = "signed in through flowgate"
        }
        return AccountDetail(
            keyHint: credentials.currentKey().map(ProviderStatus.hint), tokenExpiry: expiry, source: source,
            removable: origin == .signIn)
    }
}

extension Logger {
    fileprivate func with(account: String) -> Logger {
        var logger = self
        logger[metadataKey: "account"] = .string(account)
        return logger
    }
}

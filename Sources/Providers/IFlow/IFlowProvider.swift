import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ChatCore
import OpenAIWire
import Stores
import Synchronization
import UpstreamHTTP

/// The iFlow CLI's model service (docs/protocols/iflow.md) as an OpenAI provider.
package final class IFlowProvider: ChatProvider {
    package struct Settings: Sendable {
        package var name: String
        package var baseURL: String
        package var models: IFlowModelList
        /// Time allowed until the upstream's response head arrives.
        package var headTimeout: TimeAmount
        /// docs/protocols/iflow.md: one request in flight per account by default.
        package var concurrency: AccountQueue.Settings
        package var strategy: AccountPool.Strategy
        /// `IFLOW_API_KEY`'s keys: the accounts `key1`, `key2`, …
        package var apiKeys: [String]
        /// The CLI's settings.json: the account `default`.
        package var settingsPath: String
        /// Where sign-ins through flowgate live (docs/architecture.md, "State store"); nil: none are kept.
        package var store: IFlowStoredSignIn.Store?
        /// Where an earlier version kept them, a folder per account: moved into the store.
        package var accountsDirectory: String?

        package init(
            name: String = "iflow", baseURL: String, models: IFlowModelList, headTimeout: TimeAmount,
            concurrency: AccountQueue.Settings = .init(limit: 1), strategy: AccountPool.Strategy = .roundRobin,
            apiKeys: [String] = [], settingsPath: String = "/nonexistent/settings.json",
            store: IFlowStoredSignIn.Store? = nil, accountsDirectory: String? = nil
        ) {
            self.name = name
            self.baseURL = baseURL
            self.models = models
            self.headTimeout = headTimeout
            self.concurrency = concurrency
            self.strategy = strategy
            self.apiKeys = apiKeys
            self.settingsPath = settingsPath
            self.store = store
            self.accountsDirectory = accountsDirectory
        }
    }

    package let kind = "iflow"
    package var name: String { settings.name }
    package var modelIDs: [String] { settings.models.models }
    private let settings: Settings
    private let client: UpstreamClient
    private let oauth: IFlowOAuth
    private let chatEndpoint: UpstreamEndpoint
    package let accounts: ProviderAccounts
    /// By the pool's index (which never changes; a removed account keeps its place).
    private let list: Mutex<[IFlowAccount]>
    private let logger: Logger
    /// Largest non-streaming answer read from the upstream.
    private static let maxResponseBytes = 64 << 20
    static let defaultAccount = "default"

    package init(settings: Settings, oauth: IFlowOAuth, client: UpstreamClient, logger: Logger) {
        self.settings = settings
        self.oauth = oauth
        self.chatEndpoint = UpstreamEndpoint(url: IFlowRequest.chatURL(baseURL: settings.baseURL))
        self.client = client
        self.logger = logger
        var initial = settings.apiKeys.enumerated().map { IFlowAccount(name: "key\($0.offset + 1)", key: $0.element) }
        let cli = IFlowAccount(cliSettings: settings.settingsPath, oauth: oauth, logger: logger)
        // docs/protocols/iflow.md: with IFLOW_API_KEY the CLI's files count only when they hold a key.
        if settings.apiKeys.isEmpty || cli.credentials.currentKey() != nil { initial.append(cli) }
        // Sign-ins kept in the store join with `prepare` (reading the store is asynchronous).
        self.list = Mutex(initial)
        self.accounts = ProviderAccounts(
            names: initial.map(\.name), settings: settings.concurrency, strategy: settings.strategy)
        for (index, account) in initial.enumerated() where account.credentials.currentKey() == nil {
            accounts.signedOut(index)
        }
    }

    private func account(_ index: Int) -> IFlowAccount { list.withLock { $0[index] } }
    private var all: [IFlowAccount] { list.withLock { $0 } }

    /// The CLI's account's refresher (the console's sign-in without a name renews it).
    package var refresher: IFlowTokenRefresher? {
        all.first { $0.origin == .cliFiles }?.refresher
    }

    package func secrets() -> [String] {
        all.compactMap { $0.credentials.currentKey() }
    }

    package func accountDetail(_ index: Int) -> AccountDetail { account(index).detail }

    package func status() -> ProviderStatus {
        let accounts = all
        let pool = Dictionary(uniqueKeysWithValues: self.accounts.status().map { ($0.index, $0.state) })
        let withKey = accounts.enumerated().filter { $0.element.credentials.currentKey() != nil && pool[$0.offset] != nil }
        let expiries = accounts.compactMap { account -> Date? in
            if case .ok(let expiry)? = account.refresher?.state { return expiry }
            return nil
        }
        let lapsed = accounts.compactMap { account -> String? in
            if case .needsSignIn(let reason)? = account.refresher?.state { return "'\(account.name)': \(reason)" }
            return nil
        }
        // Serving: a key, a sign-in that has not lapsed, and the pool's ok (or a cooldown that ends).
        let serving = withKey.filter { index, account in
            if case .needsSignIn? = account.refresher?.state { return false }
            return pool[index] == "ok" || pool[index] == "cooling"
        }
        let hint = withKey.first?.element.credentials.currentKey().map(ProviderStatus.hint)
        if withKey.isEmpty && lapsed.isEmpty {
            return ProviderStatus(state: .unconfigured, accounts: 0, detail: Self.notConfigured)
        }
        if serving.isEmpty {
            let why = lapsed.isEmpty ? self.accounts.unusableSummary() : lapsed.joined(separator: "; ")
            return ProviderStatus(
                state: .needsSignIn, accounts: withKey.count, detail: "iFlow sign-in lapsed or refused: \(why).",
                tokenExpiries: expiries, keyHint: hint)
        }
        let sources = withKey.map { "\($0.element.name) (\($0.element.detail.source ?? "?"))" }
        return ProviderStatus(
            state: .ok, accounts: withKey.count,
            detail: "\(withKey.count) account(s): \(sources.joined(separator: ", "))"
                + (lapsed.isEmpty ? "" : "; sign-in lapsed for \(lapsed.joined(separator: "; "))"),
            tokenExpiries: expiries, keyHint: hint)
    }

    private static let notConfigured =
        "No iFlow API key: sign in at / (or run `flowgate login iflow`), set IFLOW_API_KEY, or put apiKey in ~/.iflow/settings.json."

    package func check(_ request: ChatRequest) throws(GatewayError) {
        if request.choiceCount > 1 {
            throw .invalidRequest(
                "iFlow returns one choice per request; 'n' must be 1.", param: "n", code: "unsupported_value")
        }
    }

    package var signIn: (any BrowserSignIn)? { IFlowBrowserSignIn(provider: self) }

    /// How often the credential files and the store are looked at for a sign-in made elsewhere.
    static let fileCheckInterval = Duration.seconds(2)

    /// Brings in the sign-ins kept in the store before the first request.
    package func prepare() async {
        await syncStored()
    }

    /// Keeps each sign-in fresh, and notices the CLI's files change or the store's sign-ins
    /// change (`flowgate login iflow --name`, another instance) (docs/protocols/iflow.md).
    package func run() async {
        await withTaskGroup(of: Void.self) { group in
            var refreshing: Set<ObjectIdentifier> = []
            while !Task.isCancelled {
                for account in all {
                    guard let refresher = account.refresher, refreshing.insert(ObjectIdentifier(account)).inserted
                    else { continue }
                    group.addTask { await refresher.run() }
                }
                try? await Task.sleep(for: Self.fileCheckInterval)
                await syncStored()
                checkFiles()
            }
            group.cancelAll()
        }
    }

    /// Takes the store's sign-ins in: new ones join, newer records (another instance's refresh)
    /// replace the copy held here, and ones removed elsewhere leave. While the store fails,
    /// the accounts go on with what they hold.
    func syncStored() async {
        guard let store = settings.store else { return }
        await moveFolders(into: store)
        for account in all { await account.stored?.writeUnsaved() }
        guard let records = try? await store.accounts(provider: name) else { return }
        let live = Dictionary(
            all.enumerated().filter { accounts.index(named: $0.element.name) == $0.offset }.map { ($0.element.name, $0) },
            uniquingKeysWith: { first, _ in first })
        for record in records where record.name != Self.defaultAccount {
            guard let entry = live[record.name] else {
                let account = IFlowAccount(
                    stored: IFlowStoredSignIn(provider: name, name: record.name, store: store), oauth: oauth, logger: logger)
                account.stored?.apply(record)
                if account.credentials.currentKey() != nil { adopt(account) }
                continue
            }
            let (index, account) = entry
            // A configured account of the same name wins.
            guard let stored = account.stored else { continue }
            let before = account.credentials.currentKey()
            guard stored.apply(record) else { continue }
            account.refresher?.reloadStored()
            let after = account.credentials.currentKey()
            if after != before { after == nil ? accounts.signedOut(index) : accounts.signedIn(index) }
        }
        let kept = Set(records.map(\.name))
        for (name, (_, account)) in live where !kept.contains(name) {
            guard let stored = account.stored, !stored.isUnsaved else { continue }
            stored.markRemoved()
            _ = accounts.remove(name)
            logger.info("iFlow account '\(name)' was removed on another instance")
        }
    }

    /// Sign-ins an earlier version kept in folders go into the store, sealed (unless the store
    /// already has a sign-in of that name), and their folders, credentials in clear, are deleted.
    private func moveFolders(into store: IFlowStoredSignIn.Store) async {
        guard let directory = settings.accountsDirectory else { return }
        let folders = IFlowAccountFolders.names(in: directory).filter { $0 != Self.defaultAccount }
        guard !folders.isEmpty, let present = try? await store.accounts(provider: name).map(\.name) else { return }
        for folder in folders {
            let files = IFlowCredentialFiles(settingsPath: IFlowAccountFolders.settingsPath(directory, folder))
            var creds = IFlowCredentialFiles.readObject(files.credsPath) ?? [:]
            guard let key = IFlowCredentials(environmentKey: nil, settingsPath: files.settingsPath).currentKey() else {
                continue
            }
            creds["apiKey"] = .string(key)
            do {
                if !present.contains(folder) {
                    try await store.saveAccount(
                        StoredAccount(
                            provider: name, name: folder, credentials: Data(JSONCoding.buffer(creds).readableBytesView),
                            updated: Date()))
                }
                try IFlowAccountFolders.remove(directory, folder)
                logger.info("iFlow account '\(folder)' moved from \(directory)/\(folder) into the state store")
            } catch {
                logger.warning("iFlow account '\(folder)' stays in \(directory)/\(folder) for now: \(error)")
            }
        }
    }

    /// Re-reads changed credential files; an account whose key came or went serves or waits for a sign-in.
    func checkFiles() {
        for (index, account) in all.enumerated() where account.origin != .environment {
            let before = account.credentials.currentKey()
            account.credentials.checkForChanges()
            account.refresher?.reloadStored()
            let after = account.credentials.currentKey()
            if after != before { after == nil ? accounts.signedOut(index) : accounts.signedIn(index) }
        }
        // Removed accounts count as unknown: signing in again under the name brings one back.
        let known = Set(all.map(\.name).filter { accounts.index(named: $0) != nil })
        if !known.contains(Self.defaultAccount) {
            let cli = IFlowAccount(cliSettings: settings.settingsPath, oauth: oauth, logger: logger)
            if cli.credentials.currentKey() != nil { adopt(cli) }
        }
    }

    /// Puts an account in the pool (a new one, or one signed in again in its old place).
    private func adopt(_ account: IFlowAccount) {
        let index = accounts.add(account.name)
        list.withLock { list in
            if index < list.count { list[index] = account } else { list.append(account) }
        }
        logger.info("iFlow account '\(account.name)' added (\(account.detail.source ?? "?"))")
    }

    /// A sign-in (console or refresh) for `name`: `default` goes to the CLI's files, any other
    /// name to the state store; the account serves at once.
    func store(_ signIn: IFlowOAuth.SignIn, account name: String) async throws {
        if let index = accounts.index(named: name), let refresher = account(index).refresher {
            try await refresher.store(signIn)
            accounts.signedIn(index)
            return
        }
        let account: IFlowAccount
        if name == Self.defaultAccount {
            account = IFlowAccount(cliSettings: settings.settingsPath, oauth: oauth, logger: logger)
        } else {
            guard let store = settings.store else {
                throw CredentialFileError(message: "this server keeps no named accounts (no state store)")
            }
            account = IFlowAccount(
                stored: IFlowStoredSignIn(provider: self.name, name: name, store: store), oauth: oauth, logger: logger)
        }
        try await account.refresher?.store(signIn)
        adopt(account)
    }

    package func removeAccount(named name: String) async throws(AccountActionError) {
        guard let index = accounts.index(named: name) else { throw AccountActionError("There is no account '\(name)'.") }
        let account = account(index)
        guard let stored = account.stored, let store = settings.store else {
            throw AccountActionError(
                "The account '\(name)' comes from \(account.detail.source ?? "the configuration"): disable it here instead.")
        }
        do {
            try await store.removeAccount(provider: self.name, name: name)
        } catch {
            throw AccountActionError("The state store did not take the removal (\(error)); try again.")
        }
        stored.markRemoved()
        _ = accounts.remove(name)
        logger.info("iFlow account '\(name)' removed")
    }

    /// iFlow's OAuth server, for the console's sign-in.
    var oauthClient: IFlowOAuth { oauth }

    package func complete(_ request: ChatRequest, upstreamModel: String, account index: Int) async throws -> JSONObject {
        let account = account(index)
        return try await withKey(account) { key in
            let built = try self.build(request, upstreamModel: upstreamModel, account: account, key: key)
            let body = try await self.client.postJSONCollecting(
                to: self.chatEndpoint, headers: built.headers, body: built.body, timeout: self.settings.headTimeout,
                maxBytes: Self.maxResponseBytes, failure: Self.httpError)
            guard case .object(let object) = try? JSONCoding.decode(body) else {
                throw GatewayError.upstreamFailed(
                    "Invalid upstream response (not JSON): \(UpstreamExcerpt.of(body.readableBytesView))",
                    code: "invalid_upstream_response")
            }
            if let error = IFlowErrors.businessError(in: object) { throw error }
            return object
        }
    }

    package func stream(_ request: ChatRequest, upstreamModel: String, account index: Int) async throws -> ChunkStream {
        let account = account(index)
        return try await withKey(account) { key in
            let built = try self.build(request, upstreamModel: upstreamModel, account: account, key: key)
            let response = try await self.client.postJSONStreaming(
                to: self.chatEndpoint, headers: built.headers, body: built.body, timeout: self.settings.headTimeout,
                failure: Self.httpError)
            try await EventStreamCheck.require(response, maxBytes: Self.maxResponseBytes) { contentType, body in
                // A failure reported as a plain JSON body although we asked for a stream.
                if case .object(let object)? = try? JSONCoding.decode(body),
                    let error = IFlowErrors.businessError(in: object)
                {
                    return error
                }
                if body.readableBytes == 0 {
                    return .upstreamFailed("Empty upstream response; the context may be too long.", code: "empty_response")
                }
                return .upstreamFailed(
                    "iFlow answered a stream request with \(contentType.isEmpty ? "no content type" : contentType): \(UpstreamExcerpt.of(body.readableBytesView))",
                    code: "invalid_upstream_response")
            }
            let decoder = SSEChunkDecoder { object in
                if let error = IFlowErrors.businessError(in: object) { throw error }
            }
            return ChunkStream(body: response.body, decoder: decoder)
        }
    }

    /// Runs `operation` with the current key; a 439 (key expired) re-reads the
    /// credentials and retries once with a new key (docs/protocols/iflow.md).
    private func withKey<T: Sendable>(_ account: IFlowAccount, _ operation: @Sendable (String) async throws -> T)
        async throws -> T
    {
        await account.refresher?.refreshIfExpired()
        guard let key = account.credentials.currentKey() else {
            throw GatewayError.unavailable(Self.notConfigured, code: "provider_not_configured")
        }
        do {
            do {
                return try await operation(key)
            } catch let error as GatewayError where error.kind == .credentialsExpired {
                // docs/protocols/iflow.md (439): refresh the sign-in, then retry once with the new key.
                await account.refresher?.refreshNow()
                guard let renewed = account.credentials.reload(), renewed != key else { throw error }
                logger.info("iFlow said the key of account '\(account.name)' expired; retrying once with the renewed key")
                return try await operation(renewed)
            }
        } catch {
            throw GatewayError.fromUpstream(error, provider: "iFlow")
        }
    }

    private static func httpError(status: Int, body: ByteBuffer) -> GatewayError {
        IFlowErrors.httpError(status: status, body: Array(body.readableBytesView))
    }

    private func build(_ chat: ChatRequest, upstreamModel: String, account: IFlowAccount, key: String)
        throws(GatewayError) -> IFlowRequest
    {
        try IFlowRequest(
            chat: chat, upstreamModel: upstreamModel, baseURL: settings.baseURL, signature: account.signature(for: key),
            session: account.session, timestampMs: Int64(Date().timeIntervalSince1970 * 1000))
    }
}

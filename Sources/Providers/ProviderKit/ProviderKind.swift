import UpstreamHTTP
import Logging
import Stores
import NIOCore

/// A kind of upstream (iFlow, Flowith, OpenAI-compatible, …): everything the gateway needs
/// to read its configuration and build it, so that no code outside the kind's folder names
/// it (docs/architecture.md, "Adding a provider").
package protocol ProviderKind: Sendable {
    /// `kind:` in the configuration file.
    var kind: String { get }
    /// The keys its section of the file may hold besides the common ones (`ProviderKinds.commonKeys`).
    var sectionKeys: Set<String> { get }
    /// Nested sections and their keys (Flowith's `accounts`), for the documentation check.
    var nestedKeys: Set<String> { get }
    /// One provider from its section of the configuration file.
    func config(from section: any ConfigSection) throws(ConfigError) -> any ProviderConfig
    /// What the environment does: `existing` is the first provider of this kind the file
    /// declared (nil when none). Returns it changed, or a new one the environment alone asks
    /// for (`IFLOW_API_KEY`), or nil for none.
    func applyEnvironment(_ environment: [String: String], to existing: (any ProviderConfig)?)
        throws(ConfigError) -> (any ProviderConfig)?
    /// The provider present when the configuration lists none (iFlow's, so a fresh machine can sign in).
    func defaultConfig() -> (any ProviderConfig)?
}

extension ProviderKind {
    package var nestedKeys: Set<String> { [] }
    package func defaultConfig() -> (any ProviderConfig)? { nil }
}

/// One configured provider, before it is built.
package protocol ProviderConfig: Sendable {
    var kind: String { get }
    /// The routing name (`iflow`, `flowith`, or a user-chosen name; the `provider/` of model ids).
    var name: String { get }
    /// Client-facing model names → the provider's model ids.
    var aliases: [String: String] { get set }
    /// Requests in flight per account, and the line behind them.
    var concurrency: AccountQueue.Settings { get set }
    /// How the next account is chosen (`strategy`).
    var strategy: AccountPool.Strategy { get set }
    /// Once every layer applied: paths expanded (`home` is `~`), URLs checked.
    mutating func finish(home: String) throws(ConfigError)
    /// The provider itself; a mistake only visible now (a token that is no JWT) is a `ConfigError`.
    func build(_ context: ProviderContext) throws -> any ChatProvider
    /// Whether `other` describes the same provider (a reload keeps it as it runs).
    func isSame(as other: any ProviderConfig) -> Bool
}

extension ProviderConfig {
    package func isSame(as other: any ProviderConfig) -> Bool { false }
}

extension ProviderConfig where Self: Equatable {
    package func isSame(as other: any ProviderConfig) -> Bool { (other as? Self) == self }
}

/// What building a provider may use: the one upstream HTTP client and the server's settings.
package struct ProviderContext: Sendable {
    package let client: UpstreamClient
    package let logger: Logger
    /// Time allowed for an upstream's response head.
    package let headTimeout: TimeAmount
    /// flowgate's own directory (`FLOWGATE_DATA_DIR`): where an earlier version kept sign-ins through flowgate.
    package let dataDirectory: String?
    /// Where accounts signed in through flowgate are kept (docs/architecture.md, "State store"); nil: none are.
    package let store: (any AccountStore & RefreshLockStore)?

    package init(
        client: UpstreamClient, logger: Logger, headTimeout: TimeAmount, dataDirectory: String? = nil,
        store: (any AccountStore & RefreshLockStore)? = nil
    ) {
        self.client = client
        self.logger = logger
        self.headTimeout = headTimeout
        self.dataDirectory = dataDirectory
        self.store = store
    }
}

/// A provider's section of the configuration file, read by its kind. Every error names the
/// key's path and line (docs/configuration.md: strict, nothing silently ignored).
package protocol ConfigSection {
    func string(_ key: String) throws(ConfigError) -> String?
    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int?
    func bool(_ key: String) throws(ConfigError) -> Bool?
    func strings(_ key: String) throws(ConfigError) -> [String]?
    func stringMap(_ key: String) throws(ConfigError) -> [String: String]?
    /// A list of sections, each allowed only `keys`.
    func sections(_ key: String, keys: Set<String>) throws(ConfigError) -> [any ConfigSection]?
    /// An error about `key` (nil: the section itself).
    func error(_ key: String?, _ message: String) -> ConfigError
    /// The process environment (`api_key_env` names a variable).
    var environment: [String: String] { get }
}

/// A sign-in in the browser that a provider offers (iFlow's OAuth): the console starts it,
/// `/oauth2callback` finishes it (docs/security.md, "Sign-in").
package protocol BrowserSignIn: Sendable {
    /// What the console's button says ("Sign in with iFlow").
    var title: String { get }
    /// A fresh, unguessable `state` for one sign-in.
    func makeState() -> String
    /// Where to send the browser.
    func authorizeURL(redirect: String, state: String) -> String
    /// Trades the code for credentials and starts using them for `account` (nil: the provider's
    /// main account), adding it when new; returns who signed in.
    func complete(code: String, redirect: String, account: String?) async throws -> String
    /// Whether `name` may name an account (the console's field).
    func isValidAccountName(_ name: String) -> Bool
}

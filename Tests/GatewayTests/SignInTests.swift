import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Mocks
import NIOCore
import Stores
import Testing

@testable import Gateway
@testable import OpenAIWire
@testable import Providers

/// SPEC 4.1 "Credentials and sign-in" and SPEC 5, against the mock OAuth server.
@Suite struct SignInTests {
    /// The mock iFlow upstream accepts the key getUserInfo hands out for `access-1`.
    static func harness(logger: Logger = Logger(label: "test")) -> GatewayHarness {
        GatewayHarness(
            mock: MockIFlow(apiKey: MockIFlowOAuth.apiKey(forAccess: "access-1")), oauth: MockIFlowOAuth(),
            logger: logger)
    }

    func object(_ path: String) throws -> JSONObject {
        let data = try #require(FileManager.default.contents(atPath: path))
        return try #require(try JSONCoding.decode(data).objectValue)
    }

    func mode(_ path: String) throws -> Int {
        try #require((try FileManager.default.attributesOfItem(atPath: path))[.posixPermissions] as? Int)
    }

    /// The CSRF token in the console's sign-in form.
    static func csrfToken(_ gateway: any TestClientProtocol) async throws -> String {
        let console = String(buffer: try await gateway.execute(uri: "/", method: .get).body)
        let marker = "name=\"csrf\" value=\""
        let start = try #require(console.range(of: marker)).upperBound
        return String(console[start...].prefix { $0 != "\"" })
    }

    /// Posts the console's sign-in form; `csrf` nil takes the console's own token.
    static func postSignIn(
        _ gateway: any TestClientProtocol, csrf: String? = nil, origin: String? = nil, account: String? = nil
    ) async throws -> HTTPClientResponse {
        var token = csrf
        if token == nil { token = try await csrfToken(gateway) }
        let form = "csrf=\(token ?? "")" + (account.map { "&account=\($0)" } ?? "")
        return try await postForm(gateway, "/login/iflow", form, origin: origin)
    }

    /// The redirect the console's sign-in form answers with (a client that does not follow it).
    func startLocation(_ gateway: any TestClientProtocol, account: String? = nil) async throws -> String {
        let response = try await Self.postSignIn(gateway, account: account)
        #expect(response.status == .seeOther)
        return try #require(response.headers.first(name: "location"))
    }

    /// Walks the browser's path: console → /login/iflow → iFlow's authorize page → /oauth2callback.
    func signIn(_ gateway: any TestClientProtocol, harness: GatewayHarness, account: String? = nil) async throws
        -> TestResponse
    {
        let authorize = try #require(URLComponents(string: try await startLocation(gateway, account: account)))
        let q = Dictionary(uniqueKeysWithValues: (authorize.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(authorize.path == "/oauth")
        #expect(q["client_id"] == "10009311001" && q["loginMethod"] == "phone" && q["type"] == "phone")
        #expect(q["redirect"]?.hasSuffix("/oauth2callback") == true)
        let state = try #require(q["state"])
        #expect(state.count == 64 && state.allSatisfy(\.isHexDigit), "32 random bytes, hex")
        return try await gateway.execute(
            uri: "/oauth2callback?code=\(MockIFlowOAuth.code)&state=\(state)", method: .get)
    }

    @Test func fullSignInThroughTheConsoleWritesTheCLIFilesAndTheKeyWorksAtOnce() async throws {
        let harness = Self.harness()
        try FileManager.default.createDirectory(atPath: harness.home + "/.iflow", withIntermediateDirectories: true)
        try Data(#"{"theme":"dark","apiKey":"","customThing":{"kept":true}}"#.utf8)
            .write(to: URL(fileURLWithPath: harness.home + "/.iflow/settings.json"))
        try await harness.run { gateway, config in
            let console = try await gateway.execute(uri: "/", method: .get)
            #expect(console.status == .ok)
            #expect(String(buffer: console.body).contains("Sign in with iFlow"))
            let before = try await gateway.chat(request("hi"))
            #expect(before.status == .serviceUnavailable)

            let done = try await signIn(gateway, harness: harness)
            #expect(done.status == .ok)
            #expect(String(buffer: done.body).contains("Signed in to iFlow as Test User"))

            let settingsPath = config.iflow.settingsPath
            let credsPath = harness.home + "/.iflow/oauth_creds.json"
            let settings = try object(settingsPath)
            #expect(settings["apiKey"] == "sk-for-access-1")
            #expect(settings["selectedAuthType"] == "oauth-iflow")
            #expect(settings["theme"] == "dark" && settings["customThing"] == ["kept": true], "unknown keys kept")
            let creds = try object(credsPath)
            #expect(creds["access_token"] == "access-1" && creds["refresh_token"] == "refresh-1")
            #expect(creds["apiKey"] == "sk-for-access-1" && creds["userName"] == "Test User")
            let expiry = try #require(creds["expiry_date"]?.intValue)
            #expect(abs(Double(expiry) / 1000 - Date().timeIntervalSince1970 - 172_800) < 60, "epoch milliseconds")
            #expect(try mode(settingsPath) == 0o600 && mode(credsPath) == 0o600)

            let token = harness.oauth!.state.withLock { $0.tokenCalls.first }
            #expect(token?["grant_type"] == "authorization_code" && token?["code"] == MockIFlowOAuth.code)
            let signedIn = String(buffer: try await gateway.execute(uri: "/", method: .get).body)
            #expect(signedIn.contains("sk-fo…") && !signedIn.contains("sk-for-access-1"), "SPEC 5: a prefix at most")
            let health = try await gateway.execute(uri: "/health", method: .get)
            #expect(!String(buffer: health.body).contains("sk-for-access-1"))
            let after = try await gateway.chat(request("hi"))
            #expect(after.status == .ok, "the new key is used without a restart")
            #expect(harness.mock.requests.last?.headers["authorization"] == "Bearer sk-for-access-1")
        }
    }

    @Test func aBrowserFollowingTheRedirectsEndsSignedIn() async throws {
        let harness = Self.harness()
        try await harness.run { gateway, _ in
            // The test client follows redirects like a browser: us → iFlow → back to /oauth2callback.
            let token = try await Self.csrfToken(gateway)
            let page = try await gateway.execute(
                uri: "/login/iflow", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "csrf=\(token)"))
            #expect(page.status == .ok)
            #expect(String(buffer: page.body).contains("Signed in to iFlow"))
        }
    }

    @Test func consoleIsForThisMachineUnlessTheAdminKeyIsShown() throws {
        #expect(LocalOnlyGuard.isLoopback("127.0.0.1") && LocalOnlyGuard.isLoopback("::1"))
        #expect(LocalOnlyGuard.isLoopback("::ffff:127.0.0.1"))
        #expect(!LocalOnlyGuard.isLoopback("192.168.1.9"))
        #expect(!LocalOnlyGuard.isLoopback(nil))
        // X-Forwarded-For counts only from a listed proxy, and names the nearest untrusted hop.
        let direct = LocalOnlyGuard(adminKey: nil)
        let request = Request(
            head: .init(method: .get, scheme: "http", authority: "localhost", path: "/",
                        headerFields: [HTTPField.Name("x-forwarded-for")!: "203.0.113.5, 127.0.0.1"]),
            body: .init(buffer: ByteBuffer()))
        #expect(direct.clientAddress(request, peer: "127.0.0.1") == "127.0.0.1", "not believed from anyone")
        let proxied = LocalOnlyGuard(adminKey: nil, trustedProxies: ["127.0.0.1"])
        #expect(proxied.clientAddress(request, peer: "127.0.0.1") == "203.0.113.5")
        #expect(proxied.clientAddress(request, peer: "::ffff:127.0.0.1") == "203.0.113.5")
    }

    @Test func forgedOrReusedStateIsRefused() async throws {
        let harness = Self.harness()
        try await harness.run { gateway, _ in
            let forged = try await gateway.execute(
                uri: "/oauth2callback?code=x&state=" + String(repeating: "a", count: 64), method: .get)
            #expect(forged.status == .badRequest)
            let location = try await startLocation(gateway)
            let state = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "state" }?.value)
            let first = try await gateway.execute(
                uri: "/oauth2callback?code=\(MockIFlowOAuth.code)&state=\(state)", method: .get)
            #expect(first.status == .ok)
            let reused = try await gateway.execute(
                uri: "/oauth2callback?code=\(MockIFlowOAuth.code)&state=\(state)", method: .get)
            #expect(reused.status == .badRequest, "single use")
            #expect(harness.oauth!.state.withLock { $0.tokenCalls.count } == 1)
        }
    }

    @Test func refreshBeforeExpiryUsesTheNewKeyImmediately() async throws {
        let harness = GatewayHarness(
            mock: MockIFlow(apiKey: MockIFlowOAuth.apiKey(forAccess: "access-2")), oauth: MockIFlowOAuth())
        try await harness.run { gateway, _ in
            _ = try await signIn(gateway, harness: harness)  // access-1, valid 48 h
            let refresher = try #require(harness.built.iflow?.refresher)
            // 48 h left: nothing to do yet.
            #expect(
                IFlowRefreshSchedule().decide(
                    now: Date(), expiry: Date().addingTimeInterval(48 * 3600), hasRefreshToken: true) != .refresh)
            #expect(await refresher.refreshNow())
            let creds = try object(harness.home + "/.iflow/oauth_creds.json")
            #expect(creds["access_token"] == "access-2" && creds["refresh_token"] == "refresh-2")
            #expect(harness.oauth!.state.withLock { $0.userInfoCalls } == 2, "getUserInfo after every refresh")
            let chat = try await gateway.chat(request("hi"))
            #expect(chat.status == .ok)
            #expect(harness.mock.requests.last?.headers["authorization"] == "Bearer sk-for-access-2")
        }
    }

    @Test func keyExpiredFromTheUpstreamRefreshesAndRetriesOnce() async throws {
        let mock = MockIFlow(apiKey: MockIFlowOAuth.apiKey(forAccess: "access-2"), expiredKeys: ["sk-for-access-1"])
        let harness = GatewayHarness(mock: mock, oauth: MockIFlowOAuth())
        try await harness.run { gateway, _ in
            _ = try await signIn(gateway, harness: harness)  // key sk-for-access-1, which iFlow now calls expired (439)
            let response = try await gateway.chat(request("hi"))
            #expect(response.status == .ok)
            let keys = harness.mock.requests.map { $0.headers["authorization"] }
            #expect(keys == ["Bearer sk-for-access-1", "Bearer sk-for-access-2"], "one refresh, one retry")
        }
    }

    @Test func transientFailuresAreRetriedAndInvalidGrantIsMarkedOnce() async throws {
        let captured = CapturedLog()
        let harness = Self.harness(logger: Logger(label: "signin") { _ in captured })
        try await harness.run { gateway, _ in
            _ = try await signIn(gateway, harness: harness)
            let refresher = try #require(harness.built.iflow?.refresher)
            harness.oauth!.state.withLock { $0.failNext = 2 }
            #expect(await refresher.refreshNow() == false)
            #expect(await refresher.refreshNow() == false)
            #expect(await refresher.refreshNow(), "third try succeeds")

            harness.oauth!.state.withLock { $0.refuseRefresh = true }
            let calls = harness.oauth!.state.withLock { $0.tokenCalls.count }
            #expect(await refresher.refreshNow() == false)
            #expect(await refresher.refreshNow() == false)
            #expect(harness.oauth!.state.withLock { $0.tokenCalls.count } == calls + 1, "never looped on invalid_grant")
            let health = try await gateway.execute(uri: "/health", method: .get)
            #expect(health.json?["providers"]?["iflow"]?["state"] == "needs_sign_in")
            #expect(health.json?["status"] == "degraded")
            #expect(captured.text.components(separatedBy: "needs a new sign-in").count - 1 == 1, "logged once")
            let console = String(buffer: try await gateway.execute(uri: "/", method: .get).body)
            #expect(console.contains("needs sign-in again"))

            // A new sign-in clears it.
            _ = try await signIn(gateway, harness: harness)
            let healed = try await gateway.execute(uri: "/health", method: .get)
            #expect(healed.json?["providers"]?["iflow"]?["state"] == "ok")
        }
    }

    @Test func backoffDoublesToFiveMinutes() {
        var schedule = IFlowRefreshSchedule()
        #expect((0..<6).map { _ in schedule.failedTransiently() } == [30, 60, 120, 240, 300, 300])
        schedule.succeeded()
        #expect(schedule.failedTransiently() == 30)
        let now = Date()
        #expect(schedule.decide(now: now, expiry: now.addingTimeInterval(23 * 3600), hasRefreshToken: true) == .refresh)
        #expect(
            schedule.decide(now: now, expiry: now.addingTimeInterval(23 * 3600), hasRefreshToken: false) != .refresh)
        schedule.signInNeeded()
        #expect(schedule.decide(now: now, expiry: now.addingTimeInterval(-1), hasRefreshToken: true) != .refresh)
    }

    @Test func restartKeepsTheSignIn() async throws {
        let first = Self.harness()
        try await first.run { gateway, _ in _ = try await signIn(gateway, harness: first) }
        let files = IFlowCredentialFiles(settingsPath: first.home + "/.iflow/settings.json")
        let stored = try #require(files.load())
        #expect(stored.refreshToken == "refresh-1")
        #expect(
            IFlowCredentials(environmentKey: nil, settingsPath: files.settingsPath).currentKey() == "sk-for-access-1")
    }

    @Test func olderIflow2apiKeysAreRead() throws {
        let dir = NSTemporaryDirectory() + "flowgate-legacy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(
            #"{"apiKey":"sk-x","oauth_access_token":"a","oauth_refresh_token":"r","oauth_expires_at":"2030-01-02T03:04:05Z"}"#
                .utf8
        )
        .write(to: URL(fileURLWithPath: dir + "/settings.json"))
        let stored = try #require(IFlowCredentialFiles(settingsPath: dir + "/settings.json").load())
        #expect(stored.refreshToken == "r" && stored.accessToken == "a")
        #expect(stored.expiry == (try Date("2030-01-02T03:04:05Z", strategy: .iso8601)))
    }

    @Test func aNamedSignInAddsAnAccountThatCanBeRemoved() async throws {
        // Each sign-in gets the next access token (access-1, access-2), and so its own key.
        let keys = ["access-1", "access-2"].map(MockIFlowOAuth.apiKey(forAccess:))
        let harness = GatewayHarness(mock: MockIFlow(apiKey: keys[0], more: [keys[1]]), oauth: MockIFlowOAuth())
        try await harness.run { gateway, config in
            _ = try await signIn(gateway, harness: harness)
            let page = try await signIn(gateway, harness: harness, account: "work")
            #expect(page.status == .ok)
            // Kept in the state store (sealed there), not in files.
            let stored = try await harness.store.accounts(provider: "iflow")
            #expect(stored.map(\.name) == ["work"])
            let record = try #require(stored.first)
            let creds = try JSONCoding.decode(record.credentials)
            #expect(creds["apiKey"] == .string(keys[1]) && creds["refresh_token"] == "refresh-2")
            let folders = IFlowConfig.accountsDirectory(dataDirectory: config.dataDirectory, provider: "iflow")
            #expect(!FileManager.default.fileExists(atPath: folders + "/work"))
            let accounts = try await FailoverTests.accounts(gateway)
            #expect(accounts["work"]?["state"] == "ok" && accounts["work"]?["source"] == "signed in through flowgate")
            #expect(accounts["default"]?["state"] == "ok")
            // Both serve: two requests take turns, each with its account's key.
            for _ in 0..<2 { #expect(try await gateway.chat(request("hi")).status == .ok) }
            #expect(harness.mock.stats.withLock { $0.requestsByKey } == [keys[0]: 1, keys[1]: 1])

            let refused = try await Self.postSignIn(gateway, account: "../etc")
            #expect(refused.status == .badRequest, "an account name is a plain name")

            let csrf = try await Self.csrfToken(gateway)
            let remove = try await postForm(
                gateway, AccountActions.path, "csrf=\(csrf)&provider=iflow&account=work&action=remove")
            #expect(remove.status == .seeOther)
            #expect(try await harness.store.accounts(provider: "iflow").isEmpty)
            #expect(try await FailoverTests.accounts(gateway)["work"] == nil)
            let keep = try await postForm(
                gateway, AccountActions.path, "csrf=\(csrf)&provider=iflow&account=default&action=remove")
            #expect(keep.status == .conflict, "the CLI's own account is disabled, not removed")

            // `flowgate login iflow --name work` (or another instance) later: the account comes back.
            try await harness.store.saveAccount(
                StoredAccount(
                    provider: "iflow", name: "work", credentials: Data("{\"apiKey\":\"\(keys[1])\"}".utf8), updated: Date()))
            try await waitUntil { try await FailoverTests.accounts(gateway)["work"]?["state"] == "ok" }
        }
    }
}

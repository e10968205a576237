import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Mocks
import NIOCore
import Stores
import Synchronization
import Testing
import UpstreamHTTP

@testable import Gateway
@testable import OpenAIWire
@testable import Providers

/// docs/security.md: web pages, upstreams and clients are adversaries. The socket-level
/// cases (Host header, slow bodies, signals, descriptors) are in Tests/conformance/test_hostile.py.
@Suite struct HostileInputTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    @Test func crossSiteSimplePostsAreRefused() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            let body = JSONCoding.buffer(request("hi"))
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let response = try await gateway.execute(
                    uri: "/v1/chat/completions", method: .post, headers: [.contentType: contentType], body: body)
                #expect(response.status == .unsupportedMediaType, "\(contentType)")
                #expect(response.json?["error"]?["code"] == "unsupported_media_type")
            }
            let none = try await gateway.execute(uri: "/v1/chat/completions", method: .post, body: body)
            #expect(none.status == .unsupportedMediaType, "no content type at all (a Blob body)")
            let charset = try await gateway.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.contentType: "Application/JSON; charset=utf-8"],
                body: body)
            #expect(charset.status == .ok)

            let foreign = try await gateway.chat(request("hi"), headers: [.origin: "http://evil.example"])
            #expect(foreign.status == .forbidden)
            #expect(foreign.json?["error"]?["code"] == "cross_origin_forbidden")
            let nullOrigin = try await gateway.chat(request("hi"), headers: [.origin: "null"])
            #expect(nullOrigin.status == .forbidden)
            let fetchSite = try await gateway.chat(
                request("hi"), headers: [HTTPField.Name("sec-fetch-site")!: "cross-site"])
            #expect(fetchSite.status == .forbidden)
            let sameOrigin = try await gateway.chat(
                request("hi"), headers: [.origin: "http://localhost:\(gateway.port!)"])
            #expect(sameOrigin.status == .ok, "the server's own pages may post")
        }
        #expect(harness.mock.requests.count == 2, "only the two allowed requests reached the upstream")
    }

    @Test func corsOnlyForListedOriginsAndNeverForTheConsole() async throws {
        let listed = "https://chat.example"
        try await GatewayHarness(configure: { $0.corsOrigins = [listed] }).run { gateway, _ in
            let preflight = try await gateway.execute(
                uri: "/v1/chat/completions", method: .options,
                headers: [
                    .origin: listed, .accessControlRequestMethod: "POST",
                    .accessControlRequestHeaders: "authorization, content-type",
                ])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == listed)
            #expect(preflight.headers[.accessControlAllowHeaders] == "authorization, content-type")
            let call = try await gateway.chat(request("hi"), headers: [.origin: listed])
            #expect(call.status == .ok)
            #expect(call.headers[.accessControlAllowOrigin] == listed)
            let failing = try await gateway.chat(request("hi", model: "nope"), headers: [.origin: listed])
            #expect(failing.status == .notFound)
            #expect(failing.headers[.accessControlAllowOrigin] == listed, "errors are readable by the app too")

            let other = try await gateway.execute(
                uri: "/v1/chat/completions", method: .options,
                headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            let console = try await gateway.execute(uri: "/", method: .get, headers: [.origin: listed])
            #expect(console.headers[.accessControlAllowOrigin] == nil)
            let signIn = try await SignInTests.postSignIn(gateway, origin: listed)
            #expect(signIn.status == .forbidden, "a listed origin still cannot start a sign-in")
        }
    }

    @Test func corsWildcardNeedsClientKeys() throws {
        #expect(throws: ConfigError.self) {
            _ = try GatewayConfig.resolve(flags: .init(), environment: ["FLOWGATE_CORS_ORIGINS": "*"], home: "/h")
        }
        let config = try GatewayConfig.resolve(
            flags: .init(), environment: ["FLOWGATE_CORS_ORIGINS": "*", "API_KEY": "k"], home: "/h")
        #expect(config.corsOrigins == ["*"])
    }

    @Test func hostNamesAreComparedWithoutPortAndCase() {
        typealias Guard = HostNames
        #expect(Guard.hostName("LocalHost:8000") == "localhost")
        #expect(Guard.hostName("[::1]:8000") == "[::1]")
        #expect(Guard.hostName("127.0.0.1") == "127.0.0.1")
        #expect(Guard.hostName("evil.example:80") == "evil.example")
        var config = GatewayConfig()
        config.allowedHosts = ["My.Box:8000"]
        let hostGuard = Guard(config: config)
        for accepted in ["my.box", "MY.BOX:9", "localhost:8000", "LocalHost", "127.0.0.1:1", "[::1]:8000", "[::1]"] {
            #expect(hostGuard.accepts(accepted), "\(accepted)")
        }
        for refused in ["evil.example", "localhost.evil.example", "127.0.0.1.evil:80", "[::2]", "my.box.evil", ""] {
            #expect(!hostGuard.accepts(refused), "\(refused)")
        }
        config.host = "0.0.0.0"
        config.allowedHosts = []
        #expect(!Guard(config: config).enforced, "keys guard a public listener")
    }

    @Test func signInStartsOnlyFromTheConsoleFormAndCallsBackToLoopback() async throws {
        let harness = SignInTests.harness()
        try await harness.run { gateway, _ in
            let get = try await gateway.execute(uri: "/login/iflow", method: .get)
            #expect(get.status == .methodNotAllowed)
            #expect(get.headers[.allow] == "POST")
            let forged = try await SignInTests.postSignIn(gateway, csrf: "0123")
            #expect(forged.status == .forbidden)
            let foreign = try await SignInTests.postSignIn(gateway, origin: "http://evil.example")
            #expect(foreign.status == .forbidden)
            #expect(harness.oauth!.state.withLock { $0.tokenCalls.isEmpty })

            let started = try await SignInTests.postSignIn(gateway)
            #expect(started.status == .seeOther)
            let location = try #require(started.headers.first(name: "location"))
            let redirect = URLComponents(string: location)?.queryItems?.first { $0.name == "redirect" }?.value
            #expect(redirect == "http://localhost:\(gateway.port!)/oauth2callback")
        }
    }

    @Test func theCallbackComesFromThePublicURLNeverFromHeaders() {
        #expect(
            SignInRoutes.callbackURL(publicURL: "https://gw.example", localPort: 8000)
                == "https://gw.example/oauth2callback")
        #expect(SignInRoutes.callbackURL(publicURL: nil, localPort: 8123) == "http://localhost:8123/oauth2callback")
    }

    @Test func signInStatesExpireAfterTenMinutesAndAreSingleUse() async {
        let clock = Mutex(Date())
        let states = SignInStates(store: MemoryStateStore(), now: { clock.withLock { $0 } })
        #expect(await states.issue(provider: "iflow", redirect: "r", account: nil, state: "a"))
        #expect(await states.issue(provider: "iflow", redirect: "r", account: nil, state: "b"))
        clock.withLock { $0 += 599 }
        #expect(await states.consume("a")?.redirect == "r")
        #expect(await states.consume("a") == nil, "used once")
        clock.withLock { $0 += 2 }
        #expect(await states.consume("b") == nil, "expired")
        // Expired entries free their place in the line.
        for index in 0..<SignInStates.capacity {
            #expect(await states.issue(provider: "iflow", redirect: "r", account: nil, state: "s\(index)"))
        }
        clock.withLock { $0 += 601 }
        #expect(await states.issue(provider: "iflow", redirect: "r", account: nil, state: "after"))
    }

    @Test func pendingSignInsAreNeverPushedOut() async {
        let states = SignInStates(store: MemoryStateStore())
        for index in 0..<SignInStates.capacity {
            #expect(await states.issue(provider: "iflow", redirect: "r\(index)", account: nil, state: "s\(index)"))
        }
        #expect(
            !(await states.issue(provider: "iflow", redirect: "late", account: nil, state: "late")),
            "full: refused, not evicting")
        #expect(await states.consume("s0")?.redirect == "r0", "the oldest pending sign-in still completes")
        #expect(await states.issue(provider: "iflow", redirect: "next", account: nil, state: "next"))
    }

    @Test func aSignInStartedOnOneInstanceFinishesOnAnother() async {
        let shared = MemoryStateStore()
        let first = SignInStates(store: shared)
        let second = SignInStates(store: shared)
        #expect(await first.issue(provider: "iflow", redirect: "r", account: "work", state: "x"))
        #expect(await second.consume("x")?.account == "work")
        #expect(await first.consume("x") == nil, "used once, across instances")
    }

    @Test func upstreamCredentialsAreScrubbedFromErrors() {
        let key = "sk-upstream-secret\r\nX-Injected: yes"
        let text = "upstream said: bad key Bearer sk-upstream-secret\r\nX-Injected: yes, and sk-upstream-secret again"
        let scrubbed = SecretScrubber.scrub(text, secrets: [key])
        #expect(!scrubbed.contains("sk-upstream-secret"))
        #expect(scrubbed.contains("[redacted]"))
        #expect(SecretScrubber.scrub("short abc", secrets: ["abc"]) == "short abc", "tiny values are not secrets")
        #expect(SecretScrubber.scrub("échec: no key here ✓", secrets: [key]) == "échec: no key here ✓")
        #expect(SecretScrubber.scrub("échec ✓ sk-upstream-secret✓", secrets: [key]) == "échec ✓ [redacted]✓")
    }

    @Test func libraryErrorTextNeverReachesTheClient() {
        struct Leaking: Error, CustomStringConvertible {
            var description: String { "header value Bearer sk-upstream-secret\r\n is not allowed" }
        }
        let error = GatewayError.fromUpstream(Leaking(), provider: "iFlow")
        #expect(error.status == 502)
        #expect(!error.message.contains("sk-upstream-secret"))
        for timeout in [UpstreamError.readTimeout, .deadlineExceeded, .connectTimeout] {
            #expect(GatewayError.fromUpstream(timeout, provider: "x").status == 504)
        }
    }

    @Test func anUpstreamThatEchoesTheKeyShowsItToNobody() async throws {
        let openai = MockOpenAI()
        try await GatewayHarness(openai: openai).run { gateway, _ in
            let response = try await gateway.chat(request("scenario:echo-auth", model: "generic/gen-small"))
            #expect(response.status == .badGateway)
            let body = String(buffer: response.body)
            #expect(!body.contains(openai.apiKey), "\(body)")
            #expect(body.contains("[redacted]"), "\(body)")
        }
    }

    @Test func theRelayWindowHoldsTheProducerAtItsLimit() async throws {
        let window = RelayWindow(limit: 2)
        await window.sent()  // one ahead: no wait
        let passed = Mutex(false)
        let second = Task {
            await window.sent()
            passed.withLock { $0 = true }
        }
        // The second send is held at the limit until the writer takes one.
        while !window.hasWaitingProducer { await Task.yield() }
        #expect(!passed.withLock { $0 })
        #expect(!window.isDrained)
        window.taken()
        await second.value
        #expect(passed.withLock { $0 })
        window.taken()
        #expect(window.isDrained)
        // Closing frees a waiting producer for good, and later sends never wait.
        let closing = RelayWindow(limit: 1)
        let waiting = Task { await closing.sent() }
        while !closing.hasWaitingProducer { await Task.yield() }
        closing.close()
        await waiting.value
        await closing.sent()
    }

    @Test func clientConnectionsStayBelowTheDescriptorLimit() {
        var limit = ConnectionLimit(descriptorLimit: 1024, logger: Logger(label: "test"))
        #expect(limit.maximum == 480)
        #expect(ConnectionLimit(descriptorLimit: 64, logger: Logger(label: "test")).maximum == 24)
        for _ in 0..<480 { limit.connectionOpened() }
        #expect(!limit.isAcceptingNewConnections())
        limit.connectionClosed()
        #expect(limit.isAcceptingNewConnections())
    }
}

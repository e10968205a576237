import Crypto
import Foundation
import Hummingbird
import OpenAIWire
import Synchronization

/// A mock of the iFlow chat upstream (SPEC 4.1). It checks what flowgate sent
/// (user-agent, signature), records every request, and answers according to a
/// scenario named in the last user message, e.g. `scenario:business:434`.
package final class MockIFlow: Sendable {
    package struct Recorded: Sendable {
        package let headerNames: [String]
        package let headers: [String: String]
        package let body: JSONObject
    }

    package struct Stats: Sendable {
        package var requests: [Recorded] = []
        /// Streams whose client (flowgate) went away before the mock finished writing.
        package var cancelledStreams = 0
        package var inFlight = 0
        package var maxInFlight = 0
        /// Per API key: requests seen, in flight now, and the most at once.
        package var requestsByKey: [String: Int] = [:]
        package var inFlightByKey: [String: Int] = [:]
        package var maxInFlightByKey: [String: Int] = [:]
    }

    package let stats = Mutex(Stats())
    /// The API key the mock accepts (the first of `apiKeys`); a request signed with another key is refused.
    package var apiKey: String { apiKeys[0] }
    /// Every key the mock accepts: one account each.
    package let apiKeys: [String]
    /// Keys the mock answers with 439 (expired), as iFlow does after a key rotated.
    package let expiredKeys: Set<String>
    /// Key → the scenario every request with that key gets, whatever it asks (one account failing).
    package let failures = Mutex<[String: String]>([:])

    package init(apiKey: String = "sk-mock-iflow-key", more: [String] = [], expiredKeys: Set<String> = []) {
        self.apiKeys = [apiKey] + more
        self.expiredKeys = expiredKeys
    }

    package var requests: [Recorded] { stats.withLock { $0.requests } }
    package var cancelledStreams: Int { stats.withLock { $0.cancelledStreams } }

    package func addRoutes(to router: Router<BasicRequestContext>, prefix: String = "/v1") {
        router.post("\(prefix)/chat/completions") { request, context in
            try await self.chat(request, context: context)
        }
        // Makes one account fail (`{"key": …, "scenario": "http:429:30"}`; no scenario: heals it).
        router.post("/_mock/iflow/fail") { request, _ in
            let body = try JSONCoding.decode(try await request.body.collect(upTo: 4096))
            guard let key = body["key"]?.stringValue else { return Self.json(status: .badRequest, ["error": "key"]) }
            self.failures.withLock { $0[key] = body["scenario"]?.stringValue }
            return Self.json(status: .ok, ["ok": true])
        }
        router.get("/_mock/stats") { _, _ in
            let (count, cancelled, maxInFlight) = self.stats.withLock {
                ($0.requests.count, $0.cancelledStreams, $0.maxInFlight)
            }
            let last = self.requests.last
            let json: JSON = [
                "requests": .int(Int64(count)), "cancelled_streams": .int(Int64(cancelled)),
                "max_in_flight": .int(Int64(maxInFlight)),
                "requests_by_key": .object(JSONObject(self.stats.withLock { $0.requestsByKey }.mapValues { .int(Int64($0)) })),
                "last_body": last.map { .object($0.body) } ?? .null,
                "last_headers": .object(last.map { JSONObject($0.headers.mapValues(JSON.string)) } ?? [:]),
            ]
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: JSONCoding.buffer(json)))
        }
    }

    private func chat(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let bytes = try await request.body.collect(upTo: 64 << 20)
        guard case .object(let body) = try JSONCoding.decode(bytes) else {
            return Self.json(status: .badRequest, ["error": "body is not an object"])
        }
        var headers: [String: String] = [:]
        var names: [String] = []
        for field in request.headers {
            names.append(field.name.canonicalName)
            headers[field.name.canonicalName] = field.value
        }
        stats.withLock { $0.requests.append(Recorded(headerNames: names, headers: headers, body: body)) }

        // What the real upstream would refuse: wrong client, wrong key, bad signature.
        guard headers["user-agent"] == "iFlow-Cli" else {
            return Self.json(status: .forbidden, ["error": "CLI user-agent required"])
        }
        let key = headers["authorization"].map { String($0.dropFirst("Bearer ".count)) } ?? ""
        if expiredKeys.contains(key) {
            return Self.json(status: .ok, ["status": "439", "msg": "apiKey expired", "body": nil])
        }
        guard apiKeys.contains(key) else {
            return Self.json(status: .ok, ["status": "434", "msg": "Invalid apiKey", "body": nil])
        }
        let expected = Self.signature(
            key: key, session: headers["session-id"] ?? "", timestamp: headers["x-iflow-timestamp"] ?? "")
        guard headers["x-iflow-signature"] == expected else {
            return Self.json(status: .badRequest, ["error": "bad signature"])
        }

        let scenario = failures.withLock { $0[key] } ?? Self.scenario(in: body)
        let stream = body["stream"]?.boolValue ?? false
        stats.withLock {
            $0.inFlight += 1
            $0.maxInFlight = max($0.maxInFlight, $0.inFlight)
            $0.requestsByKey[key, default: 0] += 1
            $0.inFlightByKey[key, default: 0] += 1
            $0.maxInFlightByKey[key] = max($0.maxInFlightByKey[key] ?? 0, $0.inFlightByKey[key]!)
        }
        // In flight until the last byte of the answer is written.
        var handedToBody = false
        defer { if !handedToBody { requestEnded(key) } }
        if scenario.hasPrefix("business:") {
            let code = String(scenario.dropFirst("business:".count))
            return Self.json(
                status: .ok, ["status": .string(code), "msg": .string("mock business error \(code)"), "body": nil])
        }
        if scenario.hasPrefix("http:") {
            // `http:429:30`: with `Retry-After: 30`.
            let parts = scenario.split(separator: ":")
            let code = parts.count > 1 ? Int(parts[1]) ?? 500 : 500
            var response = Self.json(status: .init(code: code), ["error": ["message": "mock http error"]])
            if parts.count > 2 { response.headers[.retryAfter] = String(parts[2]) }
            return response
        }
        if scenario == "nochoices" {
            return Self.json(status: .ok, ["id": "x", "object": "chat.completion"])
        }
        let model = body["model"]?.stringValue ?? "?"
        if scenario.hasPrefix("hang:") {
            // No answer at all for a while: flowgate's upstream timeout must fire.
            try await Task.sleep(for: .milliseconds(Int(scenario.dropFirst("hang:".count)) ?? 1000))
        }
        if scenario.hasPrefix("meet:") {
            // `meet:2`: answers once two requests have been in flight at the same time (or after
            // 5 s), so a test can prove overlap without betting on how long a request takes.
            let wanted = Int(scenario.dropFirst("meet:".count)) ?? 2
            let deadline = ContinuousClock.now + .seconds(5)
            while stats.withLock({ $0.maxInFlight }) < wanted && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        if scenario.hasPrefix("sleep:") {
            // A slow non-streaming answer: whitespace (valid before JSON) every 50 ms so that
            // writes notice when flowgate gives up the request.
            let millis = Int(scenario.dropFirst("sleep:".count)) ?? 1000
            let steps = (0..<(millis / 50)).flatMap { _ in [MockScript.StreamStep.data(" "), .pause(milliseconds: 50)] }
            let answer = JSONCoding.string(MockScript.completion(scenario: "default", model: model))
            handedToBody = true
            return scripted(steps + [.data(answer)], contentType: "application/json", key: key)
        }
        if !stream {
            return Self.json(status: .ok, MockScript.completion(scenario: scenario, model: model))
        }
        handedToBody = true
        return scripted(
            MockScript.streamEvents(scenario: scenario, model: model), contentType: "text/event-stream", key: key)
    }

    private func requestEnded(_ key: String) {
        stats.withLock {
            $0.inFlight -= 1
            $0.inFlightByKey[key, default: 1] -= 1
        }
    }

    private func scripted(_ events: [MockScript.StreamStep], contentType: String, key: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: contentType],
            body: ResponseBody { writer in
                defer { self.requestEnded(key) }
                do {
                    for event in events {
                        switch event {
                        case .data(let text): try await writer.write(ByteBuffer(string: text))
                        case .pause(let millis): try await Task.sleep(for: .milliseconds(millis))
                        }
                    }
                    try await writer.finish(nil)
                } catch {
                    self.stats.withLock { $0.cancelledStreams += 1 }
                    throw error
                }
            })
    }

    static func scenario(in body: JSONObject) -> String {
        let messages = body["messages"]?.arrayValue ?? []
        let text = messages.last?["content"]?.stringValue ?? ""
        guard let range = text.range(of: "scenario:") else { return "default" }
        return String(text[range.upperBound...].prefix { !$0.isWhitespace })
    }

    package static func signature(key: String, session: String, timestamp: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("iFlow-Cli:\(session):\(timestamp)".utf8), using: SymmetricKey(data: Array(key.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    static func json(status: HTTPResponse.Status, _ value: JSON) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: JSONCoding.buffer(value)))
    }
}

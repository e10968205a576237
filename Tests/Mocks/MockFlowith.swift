import Foundation
import Hummingbird
import OpenAIWire
import Synchronization

/// A mock of Flowith's web API (SPEC 4.2) and of its Supabase token endpoint. It
/// checks the token and the web app's headers, records each request, and answers
/// with raw text in pieces, as the real one streams.
package final class MockFlowith: Sendable {
    package struct Recorded: Sendable {
        package let headers: [String: String]
        package let body: JSONObject
    }

    package struct State: Sendable {
        package var requests: [Recorded] = []
        /// Tokens the mock accepts.
        package var validTokens: Set<String>
        package var refreshCalls: [String] = []
    }

    package let state: Mutex<State>
    package init(validTokens: Set<String>) {
        state = Mutex(State(validTokens: validTokens))
    }

    package var requests: [Recorded] { state.withLock { $0.requests } }

    /// A JWT-shaped token (unsigned) whose `exp` is `expiry`.
    package static func jwt(expiry: Date, subject: String = "user") -> String {
        func encode(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let payload = "{\"sub\":\"\(subject)\",\"exp\":\(Int(expiry.timeIntervalSince1970))}"
        return encode("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + encode(payload) + ".signature"
    }

    package func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/flowith/completion") { request, _ in try await self.completion(request) }
        router.post("/auth/v1/token") { request, _ in try await self.refresh(request) }
    }

    private func completion(_ request: Request) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let body = try JSONCoding.decode(try await request.body.collect(upTo: 1 << 20)).objectValue ?? [:]
        state.withLock { $0.requests.append(Recorded(headers: headers, body: body)) }
        guard request.uri.query == "mode=general" else { return Self.text(.badRequest, "mode=general expected") }
        let token = headers["authorization"] ?? ""
        guard state.withLock({ $0.validTokens.contains(token) }) else { return Self.text(.unauthorized, "invalid JWT") }
        guard headers["responsetype"] == "stream", headers["origin"] == "https://flowith.net",
            headers["referer"] == "https://flowith.net/", headers["user-agent"]?.contains("Mozilla") == true
        else { return Self.text(.forbidden, "not the web app") }
        let last = body["messages"]?.arrayValue?.last?["content"]?.stringValue ?? ""
        let scenario = last.range(of: "scenario:").map { String(last[$0.upperBound...].prefix { !$0.isWhitespace }) }
        switch scenario {
        case "http:500"?: return Self.text(.internalServerError, "flowith is down")
        case "empty"?: return Self.text(.ok, "")
        default: break
        }
        let pieces: [(String, Int)]
        switch scenario {
        case "think"?: pieces = [("<thi", 0), ("nk>ponder", 0), ("ing</th", 0), ("ink>\n\nThe answer", 0)]
        case "unicode"?: pieces = [("h\u{e9}llo \u{4e16}\u{754c}", 0)]
        case "slow"?: pieces = [("first ", 0), ("second ", 1000), ("third", 1000)]
        default: pieces = [("Hello", 0), (" from", 0), (" Flowith", 0)]
        }
        let splitBytes = scenario == "unicode"
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody { writer in
                for (text, pause) in pieces {
                    if pause > 0 { try await Task.sleep(for: .milliseconds(pause)) }
                    if splitBytes {
                        // Every byte alone: characters split across network reads.
                        for byte in text.utf8 {
                            try await writer.write(ByteBuffer(bytes: [byte]))
                            try await Task.sleep(for: .milliseconds(2))
                        }
                    } else {
                        try await writer.write(ByteBuffer(string: text))
                    }
                }
                try await writer.finish(nil)
            })
    }

    private func refresh(_ request: Request) async throws -> Response {
        let body = try JSONCoding.decode(try await request.body.collect(upTo: 1 << 20))
        guard request.uri.query == "grant_type=refresh_token", let refresh = body["refresh_token"]?.stringValue else {
            return Self.text(.badRequest, "refresh_token expected")
        }
        let access = Self.jwt(expiry: Date().addingTimeInterval(3600), subject: "renewed-\(refresh)")
        state.withLock {
            $0.refreshCalls.append(refresh)
            $0.validTokens.insert(access)
        }
        let answer: JSON = [
            "access_token": .string(access), "refresh_token": .string(refresh + "-next"), "expires_in": 3600,
        ]
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: JSONCoding.buffer(answer))
        )
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

import HTTPTypes
import Hummingbird
import OpenAIWire
import Synchronization

/// A mock OpenAI-compatible upstream (SPEC 4.3): lists its models, checks the key
/// and extra headers, records each request, answers like the real API.
package final class MockOpenAI: Sendable {
    package let apiKey: String
    package let models: [String]
    package let requests = Mutex<[(headers: [String: String], body: JSONObject)]>([])
    package let modelListings = Mutex(0)

    package init(apiKey: String = "sk-generic", models: [String] = ["gen-small", "gen-large"]) {
        self.apiKey = apiKey
        self.models = models
    }

    package func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/openai/v1/models") { request, _ in
            self.modelListings.withLock { $0 += 1 }
            // Like OpenAI: the list needs the key too.
            guard request.headers[.authorization] == "Bearer \(self.apiKey)" else {
                return Self.json(.unauthorized, ["error": ["message": "bad key", "code": "invalid_api_key"]])
            }
            let data: [JSON] = self.models.map { ["id": .string($0), "object": "model", "owned_by": "mock"] }
            return Self.json(.ok, ["object": "list", "data": .array(data)])
        }
        router.post("/openai/v1/chat/completions") { request, _ in try await self.chat(request) }
        // What flowgate sent last, for the conformance suite.
        router.get("/_mock/generic/last") { _, _ in
            Self.json(.ok, self.requests.withLock { $0.last.map { .object($0.body) } ?? .null })
        }
        router.post("/openai/v1/embeddings") { request, _ in
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let body = try JSONCoding.decode(try await request.body.collect(upTo: 1 << 20)).objectValue ?? [:]
            self.requests.withLock { $0.append((headers, body)) }
            guard headers["authorization"] == "Bearer \(self.apiKey)" else {
                return Self.json(.unauthorized, ["error": ["message": "bad key", "code": "invalid_api_key"]])
            }
            var response = Self.json(
                .ok,
                [
                    "object": "list", "model": body["model"] ?? .null,
                    "data": [["object": "embedding", "index": 0, "embedding": [0.25, -0.5, 1]]],
                    "usage": ["prompt_tokens": 2, "total_tokens": 2],
                ])
            response.headers.append(contentsOf: Self.rateLimits)
            return response
        }
    }

    private func chat(_ request: Request) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let body = try JSONCoding.decode(try await request.body.collect(upTo: 1 << 20)).objectValue ?? [:]
        requests.withLock { $0.append((headers, body)) }
        guard headers["authorization"] == "Bearer \(apiKey)" else {
            return Self.json(
                .unauthorized,
                [
                    "error": [
                        "message": "bad key", "type": "invalid_request_error", "param": nil, "code": "invalid_api_key",
                    ]
                ])
        }
        let lastMessage = body["messages"]?.arrayValue?.last?["content"]?.stringValue
        if lastMessage == "scenario:echo-auth" {
            // A hostile or careless upstream that repeats the credential it was sent.
            return Self.json(
                .internalServerError,
                ["error": ["message": .string("cannot serve \(headers["authorization"] ?? "")"), "type": "server_error"]])
        }
        if lastMessage == "scenario:rate-limited" {
            var response = Self.json(
                .tooManyRequests, ["error": ["message": "slow down", "type": "rate_limit_error", "code": "rate_limited"]])
            response.headers[.retryAfter] = "7"
            return response
        }
        let model = body["model"]?.stringValue ?? ""
        guard models.contains(model) else {
            return Self.json(
                .notFound,
                [
                    "error": [
                        "message": .string("no model \(model)"), "type": "invalid_request_error", "param": "model",
                        "code": "model_not_found",
                    ]
                ])
        }
        let n = body["n"]?.intValue ?? 1
        guard body["stream"]?.boolValue == true else {
            let choices: [JSON] = (0..<n).map {
                [
                    "index": .int($0), "message": ["role": "assistant", "content": .string("answer \($0)")],
                    "finish_reason": "stop",
                ]
            }
            var response = Self.json(
                .ok,
                [
                    "id": "gen-1", "object": "chat.completion", "created": 1, "model": .string(model),
                    "choices": .array(choices),
                    "usage": ["prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5],
                ])
            response.headers.append(contentsOf: Self.rateLimits)
            return response
        }
        let includeUsage = body["stream_options"]?["include_usage"]?.boolValue == true
        var text = ""
        for piece in ["gen", "eric"] {
            let chunk: JSON = [
                "id": "gen-1", "object": "chat.completion.chunk", "created": 1, "model": .string(model),
                "choices": [["index": 0, "delta": ["content": .string(piece)], "finish_reason": nil]],
            ]
            text += "data: " + JSONCoding.string(chunk) + "\n\n"
        }
        let last: JSON = [
            "id": "gen-1", "object": "chat.completion.chunk", "created": 1, "model": .string(model),
            "choices": [["index": 0, "delta": [:], "finish_reason": "stop"]],
        ]
        text += "data: " + JSONCoding.string(last) + "\n\n"
        if includeUsage {
            let usage: JSON = [
                "id": "gen-1", "object": "chat.completion.chunk", "created": 1, "model": .string(model), "choices": [],
                "usage": ["prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5],
            ]
            text += "data: " + JSONCoding.string(usage) + "\n\n"
        }
        text += "data: [DONE]\n\n"
        var streamHeaders: HTTPFields = [.contentType: "text/event-stream"]
        streamHeaders.append(contentsOf: Self.rateLimits)
        return Response(status: .ok, headers: streamHeaders, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// What OpenAI sends with every answer.
    static let rateLimits: HTTPFields = [
        HTTPField.Name("x-ratelimit-limit-requests")!: "100", HTTPField.Name("x-ratelimit-remaining-requests")!: "99",
    ]

    static func json(_ status: HTTPResponse.Status, _ value: JSON) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: JSONCoding.buffer(value)))
    }
}

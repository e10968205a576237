import ChatCore
import Dialects
import Foundation
import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import OpenAIWire
import Providers

/// POST /v1/chat/completions (docs/protocols/openai-chat.md): validate, route, call the provider, and
/// answer as JSON or as an SSE stream.
struct ChatCompletionsRoute: Sendable {
    let dispatcher: Dispatcher
    let config: GatewayConfig
    let connections: ConnectionWatch
    let bodies: JSONBodyReader

    static let paths = ["/v1/chat/completions", "/chat/completions", "/api/v1/chat/completions"]

    func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        // Cancels the work (and so the upstream request) when the client disconnects
        // before the answer starts; once streaming, GatewayHTTPChannel watches the write.
        try await connections.run(on: context.channel) {
            try await answer(request.body, session: SessionHeader.value(in: request.headers), logger: context.logger)
        }
    }

    private func answer(_ body: RequestBody, session: String?, logger: Logger) async throws -> Response {
        var chat = try await bodies.read(body) { json throws(GatewayError) in try ChatRequest(openAI: json) }
        if let session { chat.session = session }
        let route = try await dispatcher.route(chat)
        guard route.provider.passesRateLimitHeaders else { return try await answer(chat, route: route, logger: logger) }
        let upstreamHeaders = UpstreamHeaders()
        var response = try await UpstreamHeaders.$current.withValue(upstreamHeaders) {
            try await answer(chat, route: route, logger: logger)
        }
        upstreamHeaders.copy(into: &response.headers)
        return response
    }

    private func answer(_ chat: ChatRequest, route: ModelRouter.Route, logger: Logger) async throws -> Response {
        if chat.stream {
            return try await stream(chat, route: route, logger: logger)
        }
        let upstream = try await dispatcher.complete(chat, on: route, logger: logger)
        let completion = try ChatCompletionNormalizer.normalize(
            upstream, model: chat.model, reasoning: config.reasoning, now: Self.now(),
            promptCharacters: chat.promptCharacters)
        AccessRecord.current?.usage(completion["usage"]?.objectValue, estimated: upstream["usage"] == nil)
        return .json(.object(completion))
    }

    private func stream(_ chat: ChatRequest, route: ModelRouter.Route, logger: Logger) async throws -> Response {
        let normalizer = ChatStreamNormalizer(
            model: chat.model, includeUsage: chat.includeUsage, reasoning: config.reasoning, created: Self.now(),
            promptCharacters: chat.promptCharacters)
        return try await dispatcher.stream(chat, on: route, encoder: normalizer, logger: logger)
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}

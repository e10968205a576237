import ChatCore
import Dialects
import Foundation
import Hummingbird
import Logging
import OpenAIWire
import Providers

/// `POST /v1/messages` and `/v1/messages/count_tokens`, the Anthropic Messages dialect
/// (docs/protocols/anthropic-messages.md): the request becomes the providers' chat, the answer
/// comes back as Messages blocks or the Messages stream. Errors take the Anthropic shape in
/// the error middleware (`Dialect`).
struct MessagesRoute: Sendable {
    let dispatcher: Dispatcher
    let config: GatewayConfig
    let connections: ConnectionWatch
    let bodies: JSONBodyReader

    static let paths = ["/v1/messages", "/messages"]
    static let countPaths = ["/v1/messages/count_tokens", "/messages/count_tokens"]

    func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        try await connections.run(on: context.channel) {
            try await answer(request.body, session: SessionHeader.value(in: request.headers), logger: context.logger)
        }
    }

    /// Counted here, never by an upstream: Claude Code asks in bursts.
    func countTokens(_ request: Request) async throws -> Response {
        let messages = try await bodies.read(request.body) { json throws(GatewayError) in
            try AnthropicRequest(json: json, counting: true)
        }
        return .json(["input_tokens": .int(Int64(messages.inputTokens))])
    }

    private func answer(_ body: RequestBody, session: String?, logger: Logger) async throws -> Response {
        let messages = try await bodies.read(body) { json throws(GatewayError) in try AnthropicRequest(json: json) }
        var chat = messages.chat
        if let session { chat.session = session }
        let route = try await dispatcher.route(chat)
        let dropReasoning = config.reasoning == .drop
        if messages.stream {
            let encoder = AnthropicStreamEncoder(request: messages, dropReasoning: dropReasoning)
            return try await dispatcher.stream(chat, on: route, encoder: encoder, logger: logger)
        }
        let upstream = try await dispatcher.complete(chat, on: route, logger: logger)
        let completion = try ChatCompletionNormalizer.normalize(
            upstream, model: messages.model, reasoning: dropReasoning ? .drop : .passthrough,
            now: Int64(Date().timeIntervalSince1970), promptCharacters: chat.promptCharacters)
        AccessRecord.current?.usage(completion["usage"]?.objectValue, estimated: upstream["usage"] == nil)
        return .json(AnthropicResponse.message(OpenAIChunkEvents.events(ofCompletion: completion), request: messages))
    }
}

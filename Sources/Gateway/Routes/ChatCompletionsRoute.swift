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
    let models: ModelRouter
    let config: GatewayConfig
    let connections: ConnectionWatch
    let openStreams: OpenStreams
    let scrubber: SecretScrubber
    let largeBodies = LargeBodyGate()

    static let paths = ["/v1/chat/completions", "/chat/completions", "/api/v1/chat/completions"]

    func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        // Cancels the work (and so the upstream request) when the client disconnects
        // before the answer starts; once streaming, a failed write stops the relay.
        try await connections.run(on: context.channel) { try await answer(request.body, logger: context.logger) }
    }

    private func answer(_ body: RequestBody, logger: Logger) async throws -> Response {
        let bytes: ByteBuffer
        do {
            bytes = try await body.collect(upTo: config.bodyLimit)
        } catch is NIOTooManyBytesError {
            throw OpenAIError.bodyTooLarge(limit: config.bodyLimit)
        }
        let chat = try await largeBodies.parse(bytes, Self.decode)
        let route = try await models.routeRefreshing(chat.model)
        AccessRecord.current?.route(model: chat.model, provider: route.provider.name)
        try route.provider.check(chat)
        // OpenAI-compatible upstreams send rate-limit headers that clients pace themselves by.
        guard route.provider.kind == "openai" else { return try await answer(chat, route: route, logger: logger) }
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
        let upstream = try await route.provider.complete(chat, upstreamModel: route.upstreamModel)
        let completion = try ChatCompletionNormalizer.normalize(
            upstream, model: chat.model, reasoning: config.reasoning, now: Self.now(),
            promptCharacters: chat.promptCharacters)
        AccessRecord.current?.usage(completion["usage"]?.objectValue)
        return .json(.object(completion))
    }

    private func stream(_ chat: ChatRequest, route: ModelRouter.Route, logger: Logger) async throws -> Response {
        let chunks = try await route.provider.stream(chat, upstreamModel: route.upstreamModel)
        let normalizer = ChatStreamNormalizer(
            model: chat.model, includeUsage: chat.includeUsage, reasoning: config.reasoning, created: Self.now(),
            promptCharacters: chat.promptCharacters)
        let relay = StreamRelay(
            chunks: chunks, normalizer: normalizer, keepAlive: config.keepAliveInterval,
            providerName: route.provider.name)
        var events = relay.events.makeAsyncIterator()
        // Waiting for the first event keeps early failures plain HTTP errors (docs/protocols/openai-chat.md).
        let first: StreamRelay.Event?
        do {
            first = try await events.next()
        } catch {
            relay.cancel()
            throw error
        }
        let handoff = IteratorHandoff(iterator: events)
        let (openStreams, scrubber) = (self.openStreams, self.scrubber)
        let access = AccessRecord.current
        access?.deferUntilStreamEnds()
        return Response(
            status: .ok, headers: Self.streamHeaders,
            body: ResponseBody { writer in
                openStreams.opened(relay)
                defer {
                    openStreams.closed(relay)
                    relay.cancel()
                    access?.usage(relay.finalUsage)
                    access?.finish(status: 200)
                }
                var events = handoff.iterator
                var next = first
                do {
                    while let event = next {
                        switch event {
                        case .bytes(let buffer):
                            try await writer.write(buffer)
                            relay.delivered()
                        case .keepAlive: try await writer.write(SSEFrame.keepAlive)
                        }
                        next = try await events.next()
                    }
                } catch let error as OpenAIError {
                    // After the stream started, a failure is one error event, then [DONE] (openai-chat.md).
                    let shown = scrubber.scrub(error)
                    logger.warning("stream ended by \(shown.code ?? "error"): \(shown.message)")
                    var out = ByteBuffer()
                    ChatStreamNormalizer.writeError(shown, into: &out)
                    try await writer.write(out)
                }
                try await writer.finish(nil)
            })
    }

    static func decode(_ bytes: ByteBuffer) throws(OpenAIError) -> ChatRequest {
        guard bytes.readableBytes > 0 else { throw .invalidJSON("the body is empty") }
        let json: JSON
        do {
            json = try JSONCoding.decode(bytes)
        } catch {
            throw .invalidJSON(error.description)
        }
        return try ChatRequest(json: json)
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    static let streamHeaders: HTTPFields = [
        .contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no",
    ]
}

/// Hands the stream iterator from the handler to the response writer. The two never
/// run at the same time: the writer starts after the handler returned.
private struct IteratorHandoff: @unchecked Sendable {
    let iterator: AsyncThrowingStream<StreamRelay.Event, any Error>.AsyncIterator
}

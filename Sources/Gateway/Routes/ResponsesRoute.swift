import ChatCore
import Dialects
import Foundation
import Hummingbird
import Logging
import OpenAIWire
import Stores
import Synchronization

/// The OpenAI Responses API (docs/protocols/openai-responses.md): `POST /v1/responses` over any
/// provider, streamed or not; with `store` (the default) the answer and its conversation are kept
/// in the state store for `response_retention_days`, so `previous_response_id` continues it and
/// `GET`/`DELETE /v1/responses/{id}` reach it. A stored response belongs to the client key that
/// made it: to any other key it does not exist (404).
struct ResponsesRoute: Sendable {
    let dispatcher: Dispatcher
    let config: GatewayConfig
    let connections: ConnectionWatch
    let bodies: JSONBodyReader
    let store: any ResponseStore
    /// When expired responses were last deleted (every hour, by the next save).
    private let cleanup = Cleanup()

    private final class Cleanup: Sendable {
        /// Seconds since 1970.
        let last = Atomic<Int64>(0)
    }

    static let paths = ["/v1/responses", "/responses"]
    /// `GET` and `DELETE` of one response, by id.
    static let itemPrefixes = ["/v1/responses/", "/responses/"]

    /// What the store keeps of one response.
    private struct Stored {
        /// The client key's name ("" without client keys).
        var owner: String
        var response: JSON
        /// The input items of the whole conversation, then this response's output.
        var conversation: [JSON]

        var json: JSON { ["owner": .string(owner), "response": response, "conversation": .array(conversation)] }

        init(owner: String, response: JSON, conversation: [JSON]) {
            self.owner = owner
            self.response = response
            self.conversation = conversation
        }

        init?(_ data: Data) {
            guard let json = try? JSONCoding.decode(data), let owner = json["owner"]?.stringValue,
                let response = json["response"], let conversation = json["conversation"]?.arrayValue
            else { return nil }
            self.init(owner: owner, response: response, conversation: conversation)
        }
    }

    func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let owner = context.clientKeyName ?? ""
        let logger = context.logger
        return try await connections.run(on: context.channel) {
            let json = try await bodies.read(request.body) { json throws(GatewayError) in json }
            var history: [JSON] = []
            if let previous = try ResponsesRequest.previousResponseID(in: json) {
                guard let stored = try await load(previous, owner: owner) else {
                    throw GatewayError(
                        status: 404, message: "Previous response with id '\(previous)' not found.",
                        type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_found")
                }
                history = stored.conversation
            }
            let responses = try ResponsesRequest(json: json, history: history)
            var chat = responses.chat
            if let session = SessionHeader.value(in: request.headers) { chat.session = session }
            let route = try await dispatcher.route(chat)
            let writerContext = ResponsesWriter.Context(
                id: MessageID.make(prefix: "resp_"), model: responses.model, createdAt: Int64(Date().timeIntervalSince1970),
                echo: responses.echo, metadata: responses.metadata, previousResponseID: responses.previousResponseID,
                store: responses.store, inputTokens: responses.inputTokens)
            let save: @Sendable (JSON) async -> Void = { response in
                guard responses.store else { return }
                await keep(
                    Stored(
                        owner: owner, response: response,
                        conversation: responses.conversation + (response["output"]?.arrayValue ?? [])), logger: logger)
            }
            let dropReasoning = config.reasoning == .drop
            if chat.stream {
                let encoder = ResponsesStreamEncoder(context: writerContext, dropReasoning: dropReasoning)
                return try await dispatcher.stream(chat, on: route, encoder: encoder, logger: logger) { final in
                    if final.writer.isFinished { await save(final.writer.finalResponse) }
                }
            }
            let upstream = try await dispatcher.complete(chat, on: route, logger: logger)
            let completion = try ChatCompletionNormalizer.normalize(
                upstream, model: responses.model, reasoning: dropReasoning ? .drop : .passthrough,
                now: writerContext.createdAt, promptCharacters: chat.promptCharacters)
            AccessRecord.current?.usage(completion["usage"]?.objectValue, estimated: upstream["usage"] == nil)
            var writer = ResponsesWriter(context: writerContext, streaming: false)
            var unused = ByteBuffer()
            for event in OpenAIChunkEvents.events(ofCompletion: completion) { writer.accept(event, into: &unused) }
            writer.finish(into: &unused)
            let response = writer.finalResponse
            await save(response)
            return .json(response)
        }
    }

    func retrieve(id: String, context: GatewayRequestContext) async throws -> Response {
        guard let stored = try await load(id, owner: context.clientKeyName ?? "") else { throw Self.notFound(id) }
        return .json(stored.response)
    }

    func delete(id: String, context: GatewayRequestContext) async throws -> Response {
        guard try await load(id, owner: context.clientKeyName ?? "") != nil else { throw Self.notFound(id) }
        do {
            _ = try await store.deleteResponse(id: id)
        } catch {
            throw GatewayError.storeUnavailable(error)
        }
        return .json(["id": .string(id), "object": "response.deleted", "deleted": true])
    }

    /// The stored response, if it exists, has not expired and belongs to `owner`.
    private func load(_ id: String, owner: String) async throws -> Stored? {
        let data: Data?
        do {
            data = try await store.response(id: id, now: Date())
        } catch {
            throw GatewayError.storeUnavailable(error)
        }
        guard let data, let stored = Stored(data), stored.owner == owner else { return nil }
        return stored
    }

    /// A store that fails costs the client nothing now; later, `previous_response_id` finds nothing.
    private func keep(_ stored: Stored, logger: Logger) async {
        guard let id = stored.response["id"]?.stringValue else { return }
        let expires = Date().addingTimeInterval(Double(config.responseRetentionDays) * 86400)
        do {
            try await store.saveResponse(id: id, body: Data(buffer: JSONCoding.buffer(stored.json)), expires: expires)
        } catch {
            logger.warning("response \(id) not stored: \(error)")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let last = cleanup.last.load(ordering: .relaxed)
        if now - last >= 3600, cleanup.last.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged {
            if let gone = try? await store.deleteExpiredResponses(now: Date()), gone > 0 {
                logger.info("\(gone) expired stored responses deleted")
            }
        }
    }

    private static func notFound(_ id: String) -> GatewayError {
        GatewayError(
            status: 404, message: "No response found with id '\(id)'.", type: "invalid_request_error", code: "not_found")
    }
}

import Logging
import HTTPTypes
import Hummingbird
import NIOCore
import OpenAIWire
import Providers

/// `POST /v1/embeddings` (Open WebUI's RAG, `llm embed`): routed like chat, forwarded to
/// providers that serve embeddings with only the model name changed; the answer comes
/// back as the upstream sent it. Other providers answer 404 `model_not_found`.
struct EmbeddingsRoute: Sendable {
    let dispatcher: Dispatcher
    let bodyLimit: Int

    static let paths = ["/v1/embeddings", "/embeddings"]

    func respond(to request: Request, logger: Logger) async throws -> Response {
        let bytes: ByteBuffer
        do {
            bytes = try await request.body.collect(upTo: bodyLimit)
        } catch is NIOTooManyBytesError {
            throw GatewayError.bodyTooLarge(limit: bodyLimit)
        }
        guard case .object(var body)? = try? JSONCoding.decode(bytes) else {
            throw GatewayError.invalidJSON("the body must be a JSON object")
        }
        guard let model = body["model"]?.stringValue, !model.isEmpty else {
            throw GatewayError.invalidRequest(
                "Missing required parameter: 'model'.", param: "model", code: "missing_required_parameter")
        }
        guard body["input"] != nil else {
            throw GatewayError.invalidRequest(
                "Missing required parameter: 'input'.", param: "input", code: "missing_required_parameter")
        }
        let route = try await dispatcher.live.current.models.routeRefreshing(model)
        body["model"] = .string(route.upstreamModel)
        let upstreamHeaders = UpstreamHeaders()
        let answer = try await UpstreamHeaders.$current.withValue(upstreamHeaders) {
            try await dispatcher.embeddings(body, on: route, logger: logger)
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        upstreamHeaders.copy(into: &headers)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: answer))
    }
}

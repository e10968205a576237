import Foundation
import NIOCore
import NIOHTTP1
import OpenAIWire
import UpstreamHTTP

extension UpstreamClient {
    /// Sends a request and collects the whole answer (at most `maxBytes`), whatever its status.
    func send(
        _ method: HTTPMethod = .POST, to endpoint: UpstreamEndpoint, headers: [(String, String)], body: ByteBuffer? = nil,
        timeout: TimeAmount, maxBytes: Int
    ) async throws -> UpstreamResponse {
        let request = try endpoint.request(method, headers: headers, body: body, timeout: timeout)
        do {
            return try await collect(request, maxBytes: maxBytes)
        } catch UpstreamError.responseTooLarge {
            throw GatewayError.upstreamFailed(
                "The upstream's answer is larger than \(maxBytes >> 20) MiB.", code: "upstream_response_too_large")
        }
    }

    /// POSTs a JSON body and collects the whole answer (the non-streaming calls). The request
    /// runs on a connection of the caller's event loop when there is one, so the answer needs
    /// no thread hop. A non-2xx answer becomes `failure(status, up to 64 KiB of body)`.
    func postJSONCollecting(
        to endpoint: UpstreamEndpoint, headers: [(String, String)], body: JSONObject, timeout: TimeAmount,
        maxBytes: Int, failure: (Int, ByteBuffer) -> GatewayError, headersSeen: ((HTTPHeaders) -> Void)? = nil
    ) async throws -> ByteBuffer {
        let response = try await send(
            to: endpoint, headers: headers, body: JSONCoding.buffer(body), timeout: timeout, maxBytes: maxBytes)
        headersSeen?(response.headers)
        guard (200..<300).contains(response.status) else {
            var excerpt = response.body
            excerpt.moveWriterIndex(to: excerpt.readerIndex + min(excerpt.readableBytes, 64 << 10))
            throw failure(response.status, excerpt).fromUpstream(
                status: response.status, retryAfter: response.headers.first(name: "retry-after"))
        }
        return response.body
    }

    /// POSTs a JSON body and returns once the answer's head is in, its body still arriving.
    /// A non-2xx answer becomes `failure(status, the first 64 KiB of its body)`: each upstream maps its own.
    func postJSONStreaming(
        to endpoint: UpstreamEndpoint, headers: [(String, String)], body: JSONObject, timeout: TimeAmount,
        failure: (Int, ByteBuffer) -> GatewayError
    ) async throws -> UpstreamStreamingResponse {
        let request = try endpoint.request(headers: headers, body: JSONCoding.buffer(body), timeout: timeout)
        let response = try await stream(request)
        guard (200..<300).contains(response.status) else {
            let excerpt = (try? await response.body.prefix(64 << 10)) ?? ByteBuffer()
            throw failure(response.status, excerpt).fromUpstream(
                status: response.status, retryAfter: response.headers.first(name: "retry-after"))
        }
        return response
    }
}

extension GatewayError {
    /// Notes the upstream's status; its own `Retry-After` (whole seconds) wins over the
    /// mapping's guess: a client told to come back sooner than the upstream said only fails again.
    func fromUpstream(status upstream: Int, retryAfter header: String?) -> GatewayError {
        var error = self
        error.upstreamStatus = upstream
        guard status == 429 || status == 503, let header,
            let seconds = Int(header.trimmingCharacters(in: .whitespaces)), seconds >= 0
        else { return error }
        error.retryAfter = seconds
        error.upstreamRetryAfter = seconds
        return error
    }
}

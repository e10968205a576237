import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import OpenAIWire

/// One upstream URL, parsed once. AsyncHTTPClient's `HTTPClientRequest` parses its URL
/// string (twice, with tracing) on every request; a prepared `HTTPClient.Request` is
/// copied instead, so only the headers and the body are new per request.
package struct UpstreamEndpoint: Sendable {
    package let url: String
    private let template: Result<HTTPClient.Request, HTTPClientError>

    package init(url: String) {
        self.url = url
        do {
            template = .success(try HTTPClient.Request(url: url, method: .POST))
        } catch {
            template = .failure(error as? HTTPClientError ?? .invalidURL)
        }
    }

    func request(headers: [(String, String)], body: ByteBuffer) throws(HTTPClientError) -> HTTPClient.Request {
        var request = try template.get()
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .byteBuffer(body)
        return request
    }
}

extension HTTPClient {
    /// POSTs a JSON body and collects the whole answer (the non-streaming calls). The
    /// request runs on the caller's event loop when it is on one, so the answer needs
    /// no thread hop. A non-2xx answer becomes `failure(status, up to 64 KiB of body)`.
    func postJSONCollecting(
        to endpoint: UpstreamEndpoint, headers: [(String, String)], body: JSONObject, timeout: TimeAmount,
        maxBytes: Int, failure: (Int, ByteBuffer) -> GatewayError, headersSeen: ((HTTPHeaders) -> Void)? = nil
    ) async throws -> ByteBuffer {
        let request = try endpoint.request(headers: headers, body: JSONCoding.buffer(body))
        let task = execute(
            request: request, delegate: ResponseAccumulator(request: request, maxBodySize: maxBytes),
            eventLoop: .indifferent, deadline: .now() + timeout)
        let response: HTTPClient.Response
        do {
            response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch is ResponseAccumulator.ResponseTooBigError {
            throw GatewayError.upstreamFailed(
                "The upstream's answer is larger than \(maxBytes >> 20) MiB.", code: "upstream_response_too_large")
        }
        headersSeen?(response.headers)
        var bytes = response.body ?? ByteBuffer()
        guard (200..<300).contains(response.status.code) else {
            bytes.moveWriterIndex(to: bytes.readerIndex + min(bytes.readableBytes, 64 << 10))
            throw failure(Int(response.status.code), bytes).fromUpstream(
                status: Int(response.status.code), retryAfter: response.headers.first(name: "retry-after"))
        }
        return bytes
    }
}

import Foundation
import AsyncHTTPClient
import NIOCore
import OpenAIWire

extension HTTPClient {
    /// POSTs a JSON body with headers in the given order. A non-2xx answer becomes
    /// `failure(status, the first 64 KiB of its body)`: each upstream maps its own.
    func postJSON(
        url: String, headers: [(String, String)], body: JSONObject, timeout: TimeAmount,
        failure: (Int, ByteBuffer) -> GatewayError
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(JSONCoding.buffer(body))
        let response = try await execute(request, timeout: timeout)
        guard (200..<300).contains(response.status.code) else {
            let excerpt = (try? await response.body.collect(upTo: 64 << 10)) ?? ByteBuffer()
            throw failure(Int(response.status.code), excerpt).fromUpstream(
                status: Int(response.status.code), retryAfter: response.headers.first(name: "retry-after"))
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

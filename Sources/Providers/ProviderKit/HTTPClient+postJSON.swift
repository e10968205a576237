import Foundation
import AsyncHTTPClient
import NIOCore
import OpenAIWire

extension HTTPClient {
    /// POSTs a JSON body with headers in the given order. A non-2xx answer becomes
    /// `failure(status, the first 64 KiB of its body)`: each upstream maps its own.
    func postJSON(
        url: String, headers: [(String, String)], body: JSONObject, timeout: TimeAmount,
        failure: (Int, ByteBuffer) -> OpenAIError
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(JSONCoding.buffer(body))
        let response = try await execute(request, timeout: timeout)
        guard (200..<300).contains(response.status.code) else {
            let excerpt = (try? await response.body.collect(upTo: 64 << 10)) ?? ByteBuffer()
            throw failure(Int(response.status.code), excerpt).keepingRetryAfter(response.headers.first(name: "retry-after"))
        }
        return response
    }
}

extension OpenAIError {
    /// The upstream's own `Retry-After` (whole seconds) wins over the mapping's guess:
    /// a client told to come back sooner than the upstream said only fails again.
    func keepingRetryAfter(_ header: String?) -> OpenAIError {
        guard status == 429 || status == 503, let header,
            let seconds = Int(header.trimmingCharacters(in: .whitespaces)), seconds >= 0
        else { return self }
        var error = self
        error.retryAfter = seconds
        return error
    }
}

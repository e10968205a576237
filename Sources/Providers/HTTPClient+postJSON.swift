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
            throw failure(Int(response.status.code), excerpt)
        }
        return response
    }
}

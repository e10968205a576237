import NIOCore
import NIOHTTP1
import UpstreamHTTP

/// One upstream URL, parsed once when the provider is built; a URL that does not parse
/// fails each request with a clear error instead of failing the start.
package struct UpstreamEndpoint: Sendable {
    package let url: String
    private let parsed: Result<UpstreamURL, UpstreamError>

    package init(url: String) {
        self.url = url
        parsed = Result { () throws(UpstreamError) in try UpstreamURL(url) }
    }

    func request(
        _ method: HTTPMethod = .POST, headers: [(String, String)], body: ByteBuffer?, timeout: TimeAmount
    ) throws(UpstreamError) -> UpstreamRequest {
        var fields = HTTPHeaders()
        fields.reserveCapacity(headers.count + 2)
        for (name, value) in headers { fields.add(name: name, value: value) }
        return UpstreamRequest(method: method, url: try parsed.get(), headers: fields, body: body, deadline: .now() + timeout)
    }
}

import NIOCore
import NIOHTTP1

/// One request to an upstream. The body is sent with a `Content-Length`, head and body in
/// one write.
package struct UpstreamRequest: Sendable {
    package var method: HTTPMethod
    package var url: UpstreamURL
    package var headers: HTTPHeaders
    package var body: ByteBuffer?
    /// For a collected answer: the whole answer. For a stream: its head.
    package var deadline: NIODeadline

    package init(method: HTTPMethod = .POST, url: UpstreamURL, headers: HTTPHeaders = [:], body: ByteBuffer? = nil, deadline: NIODeadline) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.deadline = deadline
    }
}

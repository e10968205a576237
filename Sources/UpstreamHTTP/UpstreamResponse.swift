import NIOCore
import NIOHTTP1

/// A whole answer.
package struct UpstreamResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: ByteBuffer
}

/// An answer whose body is still arriving.
package struct UpstreamStreamingResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: UpstreamBody
}

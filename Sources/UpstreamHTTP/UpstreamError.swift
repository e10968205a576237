/// Why an upstream exchange failed. Descriptions never hold what was sent (headers carry
/// account keys; docs/security.md).
package enum UpstreamError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not `http(s)://host[:port]/path`.
    case invalidURL
    /// No connection (TCP, the proxy's tunnel and TLS together) within the connect timeout.
    case connectTimeout
    /// The proxy answered its `CONNECT` with something other than 2xx.
    case proxyRefused(status: Int)
    /// The proxy's answer to `CONNECT` was not HTTP or too long.
    case proxyInvalidAnswer
    /// No answer (or, for a collected answer, no whole answer) before the deadline.
    case deadlineExceeded
    /// The body went silent for longer than the read timeout.
    case readTimeout
    /// The upstream closed the connection before its answer was complete.
    case remoteClosed
    /// A collected answer is larger than the caller allows.
    case responseTooLarge(limit: Int)
    /// A request header HTTP does not allow (a line break in a value, say).
    case invalidRequestHeader
    /// The upstream's answer is not HTTP/1.1.
    case invalidResponse
    /// The client is shutting down.
    case shutDown

    package var description: String {
        switch self {
        case .invalidURL: "the upstream URL is not valid"
        case .connectTimeout: "connecting timed out"
        case .proxyRefused(let status): "the proxy refused the tunnel (HTTP \(status))"
        case .proxyInvalidAnswer: "the proxy's answer was not HTTP"
        case .deadlineExceeded: "no answer within the upstream timeout"
        case .readTimeout: "no data within the read timeout"
        case .remoteClosed: "the upstream closed the connection"
        case .responseTooLarge(let limit): "the answer is larger than \(limit >> 20) MiB"
        case .invalidRequestHeader: "a request header is not valid HTTP"
        case .invalidResponse: "the upstream's answer is not valid HTTP"
        case .shutDown: "the HTTP client is shutting down"
        }
    }
}

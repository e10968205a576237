import AsyncHTTPClient
import NIOCore
import NIOPosix
import OpenAIWire

extension GatewayError {
    /// Maps a transport failure talking to an upstream: timeouts are 504, anything
    /// else that kept us from an answer is 502. Already-typed errors pass through.
    /// The message is ours: a library's error description can carry request headers,
    /// and so an account's key (docs/security.md).
    package static func fromUpstream(_ error: any Error, provider: String) -> GatewayError {
        if let error = error as? GatewayError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded, .connectTimeout, .tlsHandshakeTimeout, .writeTimeout,
                .getConnectionFromPoolTimeout, .httpProxyHandshakeTimeout, .socksHandshakeTimeout:
                return .upstreamTimeout("The \(provider) upstream did not answer in time (\(describe(error))).")
            default:
                break
            }
        }
        return .upstreamFailed(
            "The \(provider) upstream failed: \(describe(error)).",
            code: isConnectFailure(error) ? "upstream_unreachable" : "upstream_error")
    }

    /// A short description of a transport error that never includes what was sent.
    package static func describe(_ error: any Error) -> String {
        if isConnectFailure(error) { return "could not connect" }
        guard let error = error as? HTTPClientError else {
            return error is CancellationError ? "cancelled" : "network error"
        }
        switch error {
        case .readTimeout: return "no data within the read timeout"
        case .deadlineExceeded: return "no answer within the upstream timeout"
        case .connectTimeout: return "connecting timed out"
        case .tlsHandshakeTimeout: return "TLS handshake timed out"
        case .writeTimeout: return "sending timed out"
        case .getConnectionFromPoolTimeout: return "no connection available in time"
        case .remoteConnectionClosed: return "the upstream closed the connection"
        case .cancelled: return "cancelled"
        case .invalidURL, .emptyHost, .emptyScheme: return "the upstream URL is not valid"
        case .bodyLengthMismatch: return "the upstream's body length did not match"
        case .httpProxyHandshakeTimeout, .socksHandshakeTimeout: return "the proxy did not answer in time"
        // Among the rest: headers HTTP does not allow (a key with a line break), whose description holds them.
        default: return "the request could not be sent (HTTP client error)"
        }
    }

    static func isConnectFailure(_ error: any Error) -> Bool {
        if error is NIOConnectionError { return true }
        if let error = error as? IOError {
            return [ECONNREFUSED, ECONNRESET, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode)
        }
        return false
    }
}

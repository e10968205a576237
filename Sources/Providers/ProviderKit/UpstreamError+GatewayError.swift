import NIOCore
import NIOPosix
import NIOSSL
import OpenAIWire
import UpstreamHTTP

extension GatewayError {
    /// Maps a transport failure talking to an upstream: timeouts are 504, anything
    /// else that kept us from an answer is 502. Already-typed errors pass through.
    /// The message is ours: a library's error description can carry request headers,
    /// and so an account's key (docs/security.md).
    package static func fromUpstream(_ error: any Error, provider: String) -> GatewayError {
        if let error = error as? GatewayError { return error }
        switch error {
        case UpstreamError.connectTimeout, UpstreamError.deadlineExceeded, UpstreamError.readTimeout,
            ChannelError.connectTimeout(_):
            return .upstreamTimeout("The \(provider) upstream did not answer in time (\(describe(error))).")
        default:
            break
        }
        return .upstreamFailed(
            "The \(provider) upstream failed: \(describe(error)).",
            code: isConnectFailure(error) ? "upstream_unreachable" : "upstream_error")
    }

    /// A short description of a transport error that never includes what was sent.
    package static func describe(_ error: any Error) -> String {
        if isConnectFailure(error) { return "could not connect" }
        if let error = error as? UpstreamError { return error.description }
        if case ChannelError.connectTimeout(_) = error { return "connecting timed out" }
        if error is NIOSSLError || error is BoringSSLError { return "the TLS handshake failed" }
        return error is CancellationError ? "cancelled" : "network error"
    }

    static func isConnectFailure(_ error: any Error) -> Bool {
        if error is NIOConnectionError { return true }
        if let error = error as? IOError {
            return [ECONNREFUSED, ECONNRESET, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode)
        }
        return false
    }
}

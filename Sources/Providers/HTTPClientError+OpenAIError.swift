import AsyncHTTPClient
import NIOCore
import OpenAIWire

extension OpenAIError {
    /// Maps a transport failure talking to an upstream: timeouts are 504, anything
    /// else that kept us from an answer is 502. Already-typed errors pass through.
    public static func fromUpstream(_ error: any Error, provider: String) -> OpenAIError {
        if let error = error as? OpenAIError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded, .connectTimeout, .tlsHandshakeTimeout, .writeTimeout,
                .getConnectionFromPoolTimeout, .httpProxyHandshakeTimeout, .socksHandshakeTimeout:
                return .upstreamTimeout("The \(provider) upstream did not answer in time (\(error)).")
            default:
                return .upstreamFailed("The \(provider) upstream failed: \(error).")
            }
        }
        return .upstreamFailed("Could not reach the \(provider) upstream: \(error).", code: "upstream_unreachable")
    }
}

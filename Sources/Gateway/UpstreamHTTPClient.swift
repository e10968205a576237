import AsyncHTTPClient
import Foundation
import NIOCore

/// The one HTTP client every provider shares (docs/architecture.md): no redirects, no
/// decompression, a wide pool, generous idle timeout for thinking models, and
/// `HTTPS_PROXY` honoured (AsyncHTTPClient does not read it).
package enum UpstreamHTTPClient {
    package static func make(config: GatewayConfig) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .init(config.upstreamConnectTimeout), read: .init(config.upstreamReadTimeout)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 4096),
            proxy: config.httpsProxy.flatMap(proxy(from:)),
            decompression: .disabled)
        configuration.httpVersion = .http1Only
        // A refused connection is a 502 at once; retrying until the connect timeout only
        // made the client wait 10 s for the same answer.
        configuration.connectionPool.retryConnectionEstablishment = false
        // No tracing: even the no-op tracer parses every request's URL again for span attributes.
        configuration.tracing.tracer = nil
        configuration.http1_1ConnectionDebugInitializer = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(FlushCoalescingHandler(), position: .first)
            }
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// `http://host:port` (or `host:port`) → a CONNECT proxy.
    static func proxy(from text: String) -> HTTPClient.Configuration.Proxy? {
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let url = URL(string: withScheme), let host = url.host, !host.isEmpty else { return nil }
        return .server(host: host, port: url.port ?? 80)
    }
}

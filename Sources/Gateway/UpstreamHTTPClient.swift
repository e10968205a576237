import Foundation
import NIOCore
import UpstreamHTTP

/// The one HTTP client every provider shares (docs/architecture.md, "The upstream HTTP
/// client"), configured from the server's settings; `HTTPS_PROXY` is parsed here.
package enum UpstreamHTTPClient {
    package static func make(config: GatewayConfig) -> UpstreamClient {
        var configuration = UpstreamClient.Configuration()
        configuration.connectTimeout = TimeAmount(config.upstreamConnectTimeout)
        configuration.readTimeout = TimeAmount(config.upstreamReadTimeout)
        configuration.proxy = config.httpsProxy.flatMap(proxy(from:))
        return UpstreamClient(configuration: configuration)
    }

    /// `http://host:port` (or `host:port`) → a CONNECT proxy.
    static func proxy(from text: String) -> UpstreamClient.Proxy? {
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let url = URL(string: withScheme), let host = url.host, !host.isEmpty else { return nil }
        return UpstreamClient.Proxy(host: host, port: url.port ?? 80)
    }
}

import Foundation

/// An upstream address, parsed once when a provider is built: what a connection needs
/// (scheme, host, port) and what each request line needs (path and query, `Host`).
package struct UpstreamURL: Sendable, Hashable, CustomStringConvertible {
    package enum Scheme: Sendable, Hashable { case http, https }

    package let scheme: Scheme
    package let host: String
    package let port: Int
    /// Path and query as sent in the request line; `/` when the URL has none.
    package let target: String
    /// The `Host` header: the port only when it is not the scheme's default.
    package let hostHeader: String

    package init(_ text: String) throws(UpstreamError) {
        guard let components = URLComponents(string: text), let rawScheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { throw .invalidURL }
        switch rawScheme {
        case "http": scheme = .http
        case "https": scheme = .https
        default: throw .invalidURL
        }
        let defaultPort = scheme == .https ? 443 : 80
        guard let port = components.port ?? Optional(defaultPort), (1...65535).contains(port) else { throw .invalidURL }
        // URLComponents gives an IPv6 literal without its brackets.
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        target = components.percentEncodedQuery.map { path + "?" + $0 } ?? path
        let bracketed = self.host.contains(":") ? "[\(self.host)]" : self.host
        hostHeader = port == defaultPort ? bracketed : "\(bracketed):\(port)"
    }

    package var description: String {
        "\(scheme == .https ? "https" : "http")://\(hostHeader)\(target)"
    }

    /// Connections are shared by every URL with the same scheme, host and port.
    var origin: Origin { Origin(scheme: scheme, host: host, port: port) }

    struct Origin: Hashable, Sendable {
        let scheme: Scheme
        let host: String
        let port: Int
    }
}

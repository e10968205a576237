import OpenAIWire

/// The upstream HTTP statuses that mean the same whatever the provider: a rate limit, an
/// overloaded upstream (retry later), a timeout, and any other failure. Every provider
/// maps these the same way (docs/architecture.md, "Providers").
enum UpstreamStatus {
    static func common(_ status: Int, provider: String, detail: String) -> GatewayError {
        switch status {
        case 429: return .rateLimited("\(provider) rate limit reached (HTTP 429): \(detail)", retryAfter: 5)
        case 503, 529: return .upstreamOverloaded("\(provider) is overloaded (HTTP \(status)): \(detail)")
        case 504: return .upstreamTimeout("\(provider) timed out (HTTP 504): \(detail)")
        default: return .upstreamFailed("\(provider) failed with HTTP \(status): \(detail)")
        }
    }
}

import OpenAIWire

extension AccountPool.Fault {
    /// Whose failure an attempt's error is (docs/architecture.md, "Account pools"): the
    /// account's (rejected credentials, rate limits, an upstream that failed, refused the
    /// connection or sent no head in time), which moves the request to another account, or
    /// the request's own (nil: a bad request, too large, a model the upstream does not
    /// serve, the client gone), which is answered at once. `model`: the upstream model asked.
    package init?(_ error: GatewayError, model: String) {
        switch error.kind {
        case .unauthorized, .forbidden, .credentialsExpired, .unavailable:
            self = .rejected
        case .rateLimited:
            self = .rateLimited(
                retryAfter: error.upstreamRetryAfter.map { .seconds($0) }, model: error.perModelLimit ? model : nil)
        case .overloaded, .upstream, .timeout:
            self = .unavailable
        case .invalidRequest, .notFound, .modelNotFound, .tooLarge, .clientClosed, .internal:
            return nil
        }
    }
}

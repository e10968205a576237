import Hummingbird

/// `GET /metrics` (docs/configuration.md, "Metrics"): Prometheus text, from loopback or with
/// the admin key.
struct MetricsRoute: Sendable {
    static let path = "/metrics"
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    let metrics: GatewayMetrics
    let live: LiveProviders
    let localOnly: LocalOnlyGuard

    func respond(_ request: Request, context: GatewayRequestContext) throws -> Response {
        try localOnly.check(request, context: context)
        let text = metrics.exposition(providers: live.current.providers)
        return Response(
            status: .ok, headers: [.contentType: Self.contentType], body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }
}

import CoreMetrics
import Prometheus
import Providers
import Stores
import Synchronization

/// flowgate's metrics (docs/configuration.md, "Metrics"): swift-metrics counters, timers and
/// gauges made by swift-prometheus's factory on this server's own registry (not the process's
/// global one, so servers in one process keep apart), emitted as Prometheus text by
/// `GET /metrics`. A finished request updates counters and histograms held here by their
/// labels; the account gauges are read from the pools when scraped.
final class GatewayMetrics: Sendable {
    private struct RequestLabels: Hashable {
        let dialect: String
        let provider: String
        let model: String
        let status: Int
    }

    private struct TokenLabels: Hashable {
        let provider: String
        let model: String
        let kind: String
    }

    private struct Handlers {
        var requests: [RequestLabels: CoreMetrics.Counter] = [:]
        var tokens: [TokenLabels: CoreMetrics.Counter] = [:]
    }

    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let handlers = Mutex(Handlers())
    private let duration: CoreMetrics.Timer
    private let firstByte: CoreMetrics.Timer
    private let overhead: CoreMetrics.Timer

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let wide: [Duration] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600].map { .milliseconds(Int64($0 * 1000)) }
        // flowgate's own time: tenths of a millisecond up to a tenth of a second.
        let fine: [Duration] = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000].map { .microseconds($0) }
        factory.durationHistogramBuckets = [
            "flowgate_request_duration_seconds": wide, "flowgate_time_to_first_byte_seconds": wide,
            "flowgate_overhead_seconds": fine,
        ]
        self.factory = factory
        duration = CoreMetrics.Timer(label: "flowgate_request_duration_seconds", factory: factory)
        firstByte = CoreMetrics.Timer(label: "flowgate_time_to_first_byte_seconds", factory: factory)
        overhead = CoreMetrics.Timer(label: "flowgate_overhead_seconds", factory: factory)
    }

    /// Counts and times a finished request. Tokens by kind: `prompt` and `completion`, and of
    /// those `reasoning` and `cached` (docs/configuration.md, "Metrics").
    func finished(_ request: RequestRecord) {
        let factory = self.factory
        let (requests, prompt, completion, reasoning, cached) = handlers.withLock { handlers in
            // A model no provider took is whatever a client typed: one label value, not one series each.
            let model = request.provider.isEmpty ? "" : request.model
            let labels = RequestLabels(dialect: request.dialect, provider: request.provider, model: model, status: request.status)
            let requests =
                handlers.requests[labels]
                ?? CoreMetrics.Counter(
                    label: "flowgate_requests_total",
                    dimensions: [
                        ("dialect", labels.dialect), ("provider", labels.provider), ("model", labels.model),
                        ("status", String(labels.status)),
                    ], factory: factory)
            handlers.requests[labels] = requests
            func tokens(_ kind: String, _ count: Int) -> (CoreMetrics.Counter, Int)? {
                guard count > 0 else { return nil }
                let labels = TokenLabels(provider: request.provider, model: request.model, kind: kind)
                let counter =
                    handlers.tokens[labels]
                    ?? CoreMetrics.Counter(
                        label: "flowgate_tokens_total",
                        dimensions: [("provider", labels.provider), ("model", labels.model), ("kind", kind)],
                        factory: factory)
                handlers.tokens[labels] = counter
                return (counter, count)
            }
            return (
                requests, tokens("prompt", request.promptTokens), tokens("completion", request.completionTokens),
                tokens("reasoning", request.reasoningTokens), tokens("cached", request.cachedTokens)
            )
        }
        requests.increment()
        // No array of the four: this runs for every request.
        func add(_ tokens: (CoreMetrics.Counter, Int)?) { if let (counter, count) = tokens { counter.increment(by: count) } }
        add(prompt)
        add(completion)
        add(reasoning)
        add(cached)
        duration.recordMicroseconds(request.totalMicros)
        firstByte.recordMicroseconds(request.firstByteMicros)
        overhead.recordMicroseconds(request.overheadMicros)
    }

    /// The Prometheus text, with each account's gauges as they are now.
    func exposition(providers: [any ChatProvider]) -> [UInt8] {
        for provider in providers {
            for account in provider.accounts.status() {
                let labels = [("provider", provider.name), ("account", account.name)]
                CoreMetrics.Gauge(label: "flowgate_in_flight", dimensions: labels, factory: factory).record(account.inFlight)
                CoreMetrics.Gauge(label: "flowgate_queued", dimensions: labels, factory: factory).record(account.queued)
                CoreMetrics.Gauge(label: "flowgate_account_up", dimensions: labels, factory: factory)
                    .record(account.state == "ok" ? 1 : 0)
            }
        }
        return registry.emitToBuffer()
    }
}

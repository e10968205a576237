import Foundation
import HTTPTypes
import HummingbirdTesting
import OpenAIWire
import Providers
import Testing

@testable import Gateway

/// `GET /metrics` (docs/configuration.md, "Metrics"): every count matches the requests made.
@Suite struct MetricsRouteTests {
    /// Sample lines of the Prometheus text: name, labels, value.
    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    static func samples(_ text: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
            else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
            var labels: [String: String] = [:]
            for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { labels[String(parts[0])] = String(parts[1].dropFirst().dropLast()) }
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    @Test func everyCountMatchesTheRequestsMade() async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway, _ in
            #expect(try await gateway.chat(request("hi")).status == .ok)
            #expect(try await gateway.chat(request("hi", stream: true)).status == .ok)
            #expect(try await gateway.chat(messagesRequest("hi"), path: "/v1/messages").status == .ok)
            harness.mock.failures.withLock { $0[harness.mock.apiKey] = "http:400" }
            #expect(try await gateway.chat(request("hi")).status == .badRequest)
            harness.mock.failures.withLock { $0[harness.mock.apiKey] = nil }
            #expect(try await gateway.chat(request("hi", model: "nope")).status == .notFound)
            _ = try await gateway.execute(uri: "/health", method: .get)

            let answer = try await gateway.execute(uri: "/metrics", method: .get)
            #expect(answer.status == .ok)
            #expect(answer.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let samples = Self.samples(String(buffer: answer.body))
            let ok = ["provider": "iflow", "model": "glm-4.7", "status": "200"]
            #expect(Self.value(samples, "flowgate_requests_total", ok.merging(["dialect": "openai"]) { $1 }) == 2)
            #expect(Self.value(samples, "flowgate_requests_total", ok.merging(["dialect": "anthropic"]) { $1 }) == 1)
            #expect(Self.value(samples, "flowgate_requests_total", ["status": "400", "provider": "iflow"]) == 1)
            #expect(Self.value(samples, "flowgate_requests_total", ["status": "404", "provider": ""]) == 1)
            #expect(Self.value(samples, "flowgate_requests_total") == 5, "chat requests only: not /health")
            // The mock reports 5 prompt and 4 completion tokens for each answer.
            #expect(Self.value(samples, "flowgate_tokens_total", ["kind": "prompt", "model": "glm-4.7"]) == 15)
            #expect(Self.value(samples, "flowgate_tokens_total", ["kind": "completion", "provider": "iflow"]) == 12)
            for histogram in ["flowgate_request_duration_seconds", "flowgate_time_to_first_byte_seconds", "flowgate_overhead_seconds"] {
                #expect(Self.value(samples, histogram + "_count") == 5, "\(histogram)")
            }
            let total = try #require(Self.value(samples, "flowgate_request_duration_seconds_sum"))
            let overhead = try #require(Self.value(samples, "flowgate_overhead_seconds_sum"))
            #expect(overhead > 0 && overhead < total, "the upstream's time is not flowgate's")
            let account = ["provider": "iflow", "account": "key1"]
            #expect(Self.value(samples, "flowgate_account_up", account) == 1)
            #expect(Self.value(samples, "flowgate_in_flight", account) == 0)
            #expect(Self.value(samples, "flowgate_queued", account) == 0)
            #expect(!String(buffer: answer.body).contains(harness.mock.apiKey), "no key")
        }
    }

    @Test func offMeansNoRoute() async throws {
        let harness = GatewayHarness { $0.metricsEnabled = false }
        try await harness.run { gateway, _ in
            let chat = try await gateway.chat(request("hi"))
            let metrics = try await gateway.execute(uri: "/metrics", method: .get)
            #expect(chat.status == .ok && metrics.status == .notFound)
        }
    }

    @Test func theSwitchesReadTheEnvironment() throws {
        func config(_ env: [String: String]) throws -> GatewayConfig {
            try GatewayConfig.resolve(flags: .init(), environment: env, home: "/home/u", readFile: { _ in nil })
        }
        let (plain, noMetrics, noUsage) = (
            try config([:]), try config(["FLOWGATE_METRICS": "off"]), try config(["FLOWGATE_USAGE": "0"])
        )
        #expect(plain.metricsEnabled && plain.usageEnabled, "on by default")
        #expect(!noMetrics.metricsEnabled && noMetrics.usageEnabled)
        #expect(!noUsage.usageEnabled)
        #expect(throws: ConfigError.self) { try config(["FLOWGATE_METRICS": "maybe"]) }
    }
}

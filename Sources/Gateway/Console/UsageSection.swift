import Foundation
import Stores

/// The console's usage view (docs/configuration.md, "Usage"): the last 24 hours as hourly bar
/// charts of requests, tokens and errors, tables by model, provider, account and client key,
/// and the last 100 requests (of every instance sharing the store). Rendered on the server from
/// the state store, after this instance's pending usage is written.
struct UsageSection: Sendable {
    let store: any UsageStore
    let recorder: UsageRecorder?

    func render(now: Date = Date()) async -> String {
        await recorder?.flush()
        let hour: TimeInterval = 3600
        let firstHour = Date(timeIntervalSince1970: ((now.timeIntervalSince1970 / hour).rounded(.down) - 23) * hour)
        let range = (from: firstHour, to: now.addingTimeInterval(1))
        var charts = ""
        var tables = ""
        var recent = ""
        do {
            let hourly = Dictionary(
                uniqueKeysWithValues: try await store.usageReport(from: range.from, to: range.to, groupBy: .hour).map {
                    ($0.key, $0)
                })
            let hours = (0..<24).map { UsageRow.hour(firstHour.addingTimeInterval(Double($0) * hour)) }
            let labels = hours.map { String($0.dropFirst(11).prefix(5)) + " UTC" }
            let rows = hours.map { hourly[$0] }
            charts =
                SVGChart.bars(title: "Requests per hour", labels: labels, values: rows.map { $0?.requests ?? 0 })
                + SVGChart.bars(
                    title: "Tokens per hour", labels: labels,
                    values: rows.map { ($0?.promptTokens ?? 0) + ($0?.completionTokens ?? 0) }, color: "#14752b")
                + SVGChart.bars(
                    title: "Errors per hour", labels: labels, values: rows.map { $0?.errors ?? 0 }, color: "#b00020")
            for (grouping, title) in [(UsageGrouping.model, "model"), (.provider, "provider"), (.account, "account"), (.key, "client key")] {
                let rows = try await store.usageReport(from: range.from, to: range.to, groupBy: grouping)
                tables += table(title, rows)
            }
            recent = recentTable(try await store.requests(RequestQuery(from: now - 86400, to: range.to, limit: 100)))
        } catch {
            charts = "<p class=\"warn\">Usage is not available now: the state store did not answer (\(HTML.escape("\(error)"))).</p>"
        }
        return """
            <h2>Usage, last 24 hours</h2>
            \(charts)
            <div class="tables">\(tables)</div>
            <h2>Last requests</h2>
            \(recent)
            """
    }

    private func table(_ title: String, _ rows: [UsageRow]) -> String {
        let body = rows.map { row in
            "<tr><td>\(HTML.escape(row.key.isEmpty ? "—" : row.key))</td><td>\(row.requests)</td><td>\(row.errors)</td>"
                + "<td>\(row.promptTokens)</td><td>\(row.completionTokens)</td></tr>"
        }.joined()
        return """
            <table class="usage" data-group="\(HTML.escape(title))"><tr><th>\(HTML.escape(title))</th><th>requests</th>\
            <th>errors</th><th>prompt tokens</th><th>completion tokens</th></tr>\
            \(body.isEmpty ? "<tr><td colspan=\"5\">none yet</td></tr>" : body)</table>
            """
    }

    private func recentTable(_ records: [RequestRecord]) -> String {
        guard !records.isEmpty else { return "<p>No requests yet.</p>" }
        let body = records.map { record in
            let css = record.status < 400 && record.errorCode.isEmpty ? "ok" : record.status == 429 ? "warn" : "bad"
            let status = record.errorCode.isEmpty ? "\(record.status)" : "\(record.status) \(record.errorCode)"
            return "<tr><td>\(ConsolePage.localTime(record.time))</td><td>\(HTML.escape(record.clientKey.isEmpty ? "—" : record.clientKey))</td>"
                + "<td>\(HTML.escape(record.model))</td><td>\(HTML.escape(record.account.isEmpty ? "—" : "\(record.provider)/\(record.account)"))</td>"
                + "<td class=\"\(css)\">\(HTML.escape(status))</td>"
                + "<td>\(record.promptTokens + record.completionTokens)\(record.estimated ? " (est.)" : "")</td>"
                + "<td>\(String(format: "%.1f", Double(record.totalMicros) / 1000))</td></tr>"
        }.joined()
        return """
            <table id="recent"><tr><th>time</th><th>key</th><th>model</th><th>account</th><th>status</th>\
            <th>tokens</th><th>ms</th></tr>\(body)</table>
            """
    }
}

import Foundation
import OpenAIWire

/// The upstream request exactly as Flowith's web app sends it (docs/protocols/flowith.md). Pure.
package struct FlowithRequest: Sendable {
    package var url: String
    package var headers: [(String, String)]
    package var body: JSONObject

    static let userAgent =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    static func completionURL(baseURL: String) -> String {
        (baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL) + "/completion?mode=general"
    }

    package init(messages: [JSON], upstreamModel: String, baseURL: String, token: String, nodeID: String) {
        url = Self.completionURL(baseURL: baseURL)
        headers = [
            // The raw JWT, no `Bearer` (unless the configured token already has one).
            ("authorization", token),
            ("content-type", "application/json"),
            ("responsetype", "stream"),
            ("origin", "https://flowith.net"),
            ("referer", "https://flowith.net/"),
            ("user-agent", Self.userAgent),
        ]
        body = [
            "model": .string(upstreamModel), "messages": .array(messages), "stream": true, "nodeId": .string(nodeID),
        ]
    }
}

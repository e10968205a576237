import Foundation
import ChatCore
import OpenAIWire

/// The upstream request exactly as the official iFlow CLI sends it (docs/protocols/iflow.md):
/// header set and order, signature, and the per-model body adjustments. Pure.
package struct IFlowRequest: Sendable {
    package var url: String
    /// Ordered: the CLI's order is part of looking like the CLI.
    package var headers: [(String, String)]
    package var body: JSONObject

    package struct Session: Sendable, Equatable {
        package let sessionID: String
        package let conversationID: String

        package init(sessionID: String, conversationID: String) {
            self.sessionID = sessionID
            self.conversationID = conversationID
        }

        /// New ids, made once per account for the process lifetime.
        package static func make() -> Session {
            Session(
                sessionID: "session-" + UUID().uuidString.lowercased(), conversationID: UUID().uuidString.lowercased())
        }
    }

    package static func chatURL(baseURL: String) -> String {
        baseURL.hasSuffix("/") ? baseURL + "chat/completions" : baseURL + "/chat/completions"
    }

    package init(
        chat: ChatRequest, upstreamModel: String, baseURL: String, apiKey: String, session: Session, timestampMs: Int64
    ) throws(GatewayError) {
        try self.init(
            chat: chat, upstreamModel: upstreamModel, baseURL: baseURL, signature: IFlowSignature(apiKey: apiKey),
            session: session, timestampMs: timestampMs)
    }

    /// `signature` carries the API key, keyed once for many requests.
    package init(
        chat: ChatRequest, upstreamModel: String, baseURL: String, signature: IFlowSignature, session: Session,
        timestampMs: Int64
    ) throws(GatewayError) {
        let apiKey = signature.apiKey
        var body = chat.openAIBody
        body["model"] = .string(upstreamModel)
        try IFlowModelAdjustments.apply(to: &body, model: upstreamModel)
        if case .array(let tools)? = body["tools"], tools.isEmpty { body["tools"] = nil }
        // OpenAI's newer name for the limit; the iFlow upstream reads `max_tokens`.
        if let limit = body.removeValue(forKey: "max_completion_tokens"), body["max_tokens"] == nil {
            body["max_tokens"] = limit
        }
        if chat.stream {
            body["stream"] = true
            // Always, for accounting; the gateway removes the usage chunk if the client did not ask.
            body["stream_options"] = ["include_usage": true]
        } else {
            body["stream"] = nil
            body["stream_options"] = nil
        }
        self.body = body
        self.url = Self.chatURL(baseURL: baseURL)
        var headers: [(String, String)] = []
        headers.reserveCapacity(9)
        headers += [
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer \(apiKey)"),
            ("user-agent", "iFlow-Cli"),
            ("session-id", session.sessionID),
            ("conversation-id", session.conversationID),
        ]
        if !apiKey.isEmpty {
            headers.append(
                (
                    "x-iflow-signature",
                    signature.sign(sessionID: session.sessionID, timestampMs: timestampMs)
                ))
        }
        headers.append(("x-iflow-timestamp", String(timestampMs)))
        headers.append(("Accept", chat.stream ? "text/event-stream" : "application/json"))
        self.headers = headers
    }
}

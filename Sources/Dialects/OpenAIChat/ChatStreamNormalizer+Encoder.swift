import ChatCore
import NIOCore
import OpenAIWire

extension ChatStreamNormalizer: ChatStreamEncoder {
    package var hasOutput: Bool { emittedChunks > 0 }
    package static var keepAlive: ByteBuffer { SSEFrame.keepAlive }

    /// The OpenAI chat dialect writes canonical events as one chunk (of the first choice).
    package mutating func accept(events: [ChatEvent], into out: inout ByteBuffer) {
        var delta: JSONObject = [:]
        var finish: JSON = nil
        var usage: JSON?
        var calls: [JSON] = []
        func append(_ key: String, _ text: String) {
            delta[key] = .string((delta[key]?.stringValue ?? "") + text)
        }
        for event in events {
            switch event {
            case .text(let text): append("content", text)
            case .reasoning(let text): append("reasoning_content", text)
            case .toolCall(let index, let id, let name):
                var call: JSONObject = ["index": .int(Int64(index)), "function": name.map { ["name": .string($0)] } ?? [:]]
                if let id { call["id"] = .string(id) }
                calls.append(.object(call))
            case .toolArguments(let index, let text):
                calls.append(["index": .int(Int64(index)), "function": ["arguments": .string(text)]])
            case .finish(let reason, _): finish = .string(reason.rawValue)
            case .usage(let reported): usage = .object(reported.openAIFields)
            }
        }
        if !calls.isEmpty { delta["tool_calls"] = .array(calls) }
        var chunk: JSONObject = ["choices": [["index": 0, "delta": .object(delta), "finish_reason": finish]]]
        if let usage { chunk["usage"] = usage }
        accept(chunk, into: &out)
    }
}

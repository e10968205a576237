import OpenAIWire

/// The answers the mock upstreams give, by scenario name.
enum MockScript {
    enum StreamStep: Sendable {
        case data(String)
        case pause(milliseconds: Int)
    }

    static let usage: JSON = ["prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9]
    /// `detailed-usage`: the same, with reasoning and cached tokens as OpenAI reports them.
    static let detailedUsage: JSON = [
        "prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9, "prompt_tokens_details": ["cached_tokens": 3],
        "completion_tokens_details": ["reasoning_tokens": 2],
    ]

    static func completion(scenario: String, model: String) -> JSON {
        var message: JSONObject = ["role": "assistant", "content": "Hello from mock iFlow."]
        var finish = "stop"
        switch scenario {
        case "reasoning":
            message["reasoning_content"] = "Let me think."
            message["content"] = "42"
        case "stop-seq":
            // vLLM's way of saying which stop sequence ended the answer.
            message["content"] = "1, 2, 3, "
        case "tool":
            message["content"] = nil
            message["tool_calls"] = [
                [
                    "id": "call_1", "type": "function",
                    "function": ["name": "get_weather", "arguments": "{\"city\":\"Paris\"}"],
                ]
            ]
            finish = "tool_calls"
        default:
            break
        }
        var choice: JSONObject = ["index": 0, "message": .object(message), "finish_reason": .string(finish)]
        if scenario == "stop-seq" { choice["stop_reason"] = "END" }
        var completion: JSONObject = [
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 1_700_000_000, "model": .string(model),
            "choices": [.object(choice)],
            "usage": usage,
        ]
        if scenario == "no-usage" { completion["usage"] = nil }
        if scenario == "detailed-usage" { completion["usage"] = detailedUsage }
        return .object(completion)
    }

    static func streamEvents(scenario: String, model: String) -> [StreamStep] {
        func chunk(_ delta: JSONObject, finish: String? = nil, usage: JSON? = nil, choices: Bool = true) -> String {
            var object: JSONObject = [
                "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
                "model": .string(model),
            ]
            object["choices"] =
                choices ? [["index": 0, "delta": .object(delta), "finish_reason": finish.map(JSON.string) ?? nil]] : []
            if let usage { object["usage"] = usage }
            // SPEC 4.1: iFlow writes `data:` without a space.
            return "data:" + JSONCoding.string(.object(object)) + "\n\n"
        }
        let done = "data:[DONE]\n\n"
        let hello = [
            chunk(["role": "assistant", "content": ""]), chunk(["content": "Hello"]), chunk(["content": " from"]),
            chunk(["content": " mock"], finish: "stop"),
            chunk([:], usage: scenario == "detailed-usage" ? detailedUsage : usage, choices: false), done,
        ]
        switch scenario {
        case "reasoning":
            return [
                chunk(["role": "assistant", "reasoning_content": "Let me"]), chunk(["reasoning_content": " think."]),
                chunk(["content": "42"]), chunk([:], finish: "stop", usage: usage), done,
            ].map { .data($0) }
        case "tool", "tool-noindex":
            let indexed = scenario == "tool"
            func call(_ fields: JSONObject) -> JSONObject {
                var fields = fields
                if indexed { fields["index"] = 0 }
                return ["tool_calls": [.object(fields)]]
            }
            return [
                chunk(["role": "assistant", "content": nil]),
                chunk(
                    call(["id": "call_1", "type": "function", "function": ["name": "get_weather", "arguments": ""]])),
                chunk(call(["function": ["arguments": "{\"city\":"]])),
                chunk(call(["function": ["arguments": "\"Paris\"}"]])),
                chunk([:], finish: "tool_calls"), chunk([:], usage: usage, choices: false), done,
            ].map { .data($0) }
        case "text-tool":
            // Text first, then a tool call whose arguments come in pieces (what Claude Code must get whole).
            return [
                chunk(["role": "assistant", "content": "Let me check."]),
                chunk(["tool_calls": [["index": 0, "id": "call_2", "type": "function", "function": ["name": "get_weather", "arguments": "{\"ci"]]]]),
                chunk(["tool_calls": [["index": 0, "function": ["arguments": "ty\":\"Par"]]]]),
                chunk(["tool_calls": [["index": 0, "function": ["arguments": "is\"}"]]]]),
                chunk([:], finish: "tool_calls", usage: usage), done,
            ].map { .data($0) }
        case "stop-seq":
            let stopped = "data:" + JSONCoding.string([
                "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": .string(model),
                "choices": [["index": 0, "delta": [:], "finish_reason": "stop", "stop_reason": "END"]],
            ]) + "\n\n"
            return [chunk(["role": "assistant", "content": "1, 2, 3, "]), stopped, done].map { .data($0) }
        case "after-done":
            // Something after the end, which a client must never see.
            return (hello + [chunk(["content": " after the end"])]).map { .data($0) }
        case "empty":
            return [.data(done)]
        case "drop":
            return [.data(chunk(["role": "assistant", "content": "Hel"])), .data(chunk(["content": "lo"]))]
        case "midstream-error":
            return [
                .data(chunk(["role": "assistant", "content": "Hel"])), .pause(milliseconds: 20),
                .data("data:{\"status\":\"514\",\"msg\":\"model overloaded\",\"body\":null}\n\n"),
            ]
        case _ where scenario.hasPrefix("business-stream:"):
            let code = scenario.dropFirst("business-stream:".count)
            return [.data("data:{\"status\":\"\(code)\",\"msg\":\"mock\",\"body\":null}\n\n")]
        case _ where scenario.hasPrefix("silence:"):
            let millis = Int(scenario.dropFirst("silence:".count)) ?? 1000
            return [.pause(milliseconds: millis)] + hello.map { .data($0) }
        case _ where scenario.hasPrefix("stall:"):
            // Two pieces, then N ms of SSE comments only (nothing a client is sent), then the rest.
            let millis = Int(scenario.dropFirst("stall:".count)) ?? 1000
            let waiting = Array(repeating: [StreamStep.pause(milliseconds: 50), .data(": waiting\n\n")], count: millis / 50)
            return hello.prefix(2).map { .data($0) } + waiting.flatMap { $0 } + hello.dropFirst(2).map { .data($0) }
        case _ where scenario == "slow" || scenario.hasPrefix("slow:"):
            // `slow:N`: N pieces 50 ms apart (400 by default).
            let pieces = Int(scenario.dropFirst("slow:".count)) ?? 400
            var steps: [StreamStep] = [.data(chunk(["role": "assistant", "content": ""]))]
            for i in 0..<pieces {
                steps.append(.pause(milliseconds: 50))
                steps.append(.data(chunk(["content": .string("\(i) ")])))
            }
            return steps + [.data(chunk([:], finish: "stop")), .data(done)]
        case "no-usage":
            // An upstream that reports no usage, with the fields a usage chunk should keep.
            func fingerprinted(_ delta: JSONObject, finish: String? = nil) -> String {
                var object = (try? JSONCoding.decode(Array(chunk(delta, finish: finish).dropFirst(5).utf8)))?.objectValue ?? [:]
                object["system_fingerprint"] = "fp_mock"
                object["service_tier"] = "default"
                return "data:" + JSONCoding.string(.object(object)) + "\n\n"
            }
            return [
                fingerprinted(["role": "assistant", "content": "Hello"]), fingerprinted(["content": " world"], finish: "stop"),
                done,
            ].map { .data($0) }
        case "split":
            // Every event in pieces of 3 bytes, with CRLF line ends.
            let text = hello.joined().replacingOccurrences(of: "\n", with: "\r\n")
            let bytes = Array(text.utf8)
            return stride(from: 0, to: bytes.count, by: 3).map {
                .data(String(decoding: bytes[$0..<min($0 + 3, bytes.count)], as: UTF8.self))
            }
        default:
            return hello.map { .data($0) }
        }
    }
}

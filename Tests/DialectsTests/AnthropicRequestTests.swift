import ChatCore
import OpenAIWire
import Testing

@testable import Dialects

@Suite struct AnthropicRequestTests {
    func translate(_ body: JSONObject, counting: Bool = false) throws -> JSONObject {
        var body = body
        if body["model"] == nil { body["model"] = "claude-sonnet-4-5" }
        if body["max_tokens"] == nil && !counting { body["max_tokens"] = 256 }
        return try AnthropicRequest(json: .object(body), counting: counting).chat.openAIBody
    }

    func messages(_ chat: JSONObject) -> [JSON] { chat["messages"]?.arrayValue ?? [] }

    @Test func systemAndBlocksBecomeChatMessages() throws {
        let chat = try translate([
            "system": [["type": "text", "text": "Be brief."], ["type": "text", "text": "Be kind."]],
            "messages": [
                ["role": "user", "content": [["type": "text", "text": ""], ["type": "text", "text": "hi"]]],
            ],
        ])
        #expect(messages(chat).count == 2)
        #expect(messages(chat)[0] == ["role": "system", "content": "Be brief.\n\nBe kind."])
        // The empty text block is dropped; one text block stays a plain string.
        #expect(messages(chat)[1] == ["role": "user", "content": "hi"])
        #expect(chat["max_tokens"] == 256)
    }

    @Test func toolUseAndResultsKeepTheirIdsAndPlace() throws {
        let chat = try translate([
            "messages": [
                ["role": "user", "content": "weather?"],
                [
                    "role": "assistant",
                    "content": [
                        ["type": "thinking", "thinking": "use the tool", "signature": "flowgate.abc"],
                        ["type": "text", "text": "Checking."],
                        ["type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": ["city": "Paris"]],
                    ],
                ],
                [
                    "role": "user",
                    "content": [
                        ["type": "text", "text": "and hurry"],
                        ["type": "tool_result", "tool_use_id": "toolu_1", "content": [["type": "text", "text": "sunny"]]],
                    ],
                ],
            ]
        ])
        let m = messages(chat)
        #expect(m.count == 4)
        #expect(m[1]["reasoning_content"] == "use the tool")
        #expect(m[1]["content"] == "Checking.")
        #expect(m[1]["tool_calls"]?.arrayValue?[0]["id"] == "toolu_1")
        #expect(m[1]["tool_calls"]?.arrayValue?[0]["function"]?["arguments"] == "{\"city\":\"Paris\"}")
        // The tool's answer comes right after the call, before the user's words.
        #expect(m[2] == ["role": "tool", "tool_call_id": "toolu_1", "content": "sunny"])
        #expect(m[3] == ["role": "user", "content": "and hurry"])
    }

    @Test func failedToolResultsSaySo() throws {
        let chat = try translate([
            "messages": [
                [
                    "role": "user",
                    "content": [["type": "tool_result", "tool_use_id": "t", "content": "boom", "is_error": true]],
                ]
            ]
        ])
        #expect(messages(chat)[0]["content"] == "Error: boom")
    }

    @Test func imagesBecomeImageParts() throws {
        let chat = try translate([
            "messages": [
                [
                    "role": "user",
                    "content": [
                        ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "AAAA"]],
                        ["type": "image", "source": ["type": "url", "url": "https://example.com/a.png"]],
                        ["type": "text", "text": "what is this"],
                    ],
                ]
            ]
        ])
        let parts = messages(chat)[0]["content"]?.arrayValue ?? []
        #expect(parts.count == 3)
        #expect(parts[0]["image_url"]?["url"] == "data:image/png;base64,AAAA")
        #expect(parts[1]["image_url"]?["url"] == "https://example.com/a.png")
    }

    @Test func samplingToolsAndSwitches() throws {
        let chat = try translate([
            "messages": [["role": "user", "content": "hi"]],
            "stop_sequences": ["END"], "temperature": 0.5, "top_p": 0.9, "top_k": 40,
            "metadata": ["user_id": "u-1"], "stream": true,
            "thinking": ["type": "enabled", "budget_tokens": 8000],
            "tools": [["name": "f", "description": "does f", "input_schema": ["type": "object"]]],
            "tool_choice": ["type": "any", "disable_parallel_tool_use": true],
        ])
        #expect(chat["stop"] == ["END"])
        #expect(chat["temperature"] == 0.5 && chat["top_p"] == 0.9 && chat["top_k"] == 40)
        #expect(chat["user"] == "u-1")
        #expect(chat["stream"] == true && chat["stream_options"]?["include_usage"] == true)
        #expect(chat["reasoning_effort"] == "medium")
        #expect(chat["tools"]?.arrayValue?[0]["function"]?["parameters"] == ["type": "object"])
        #expect(chat["tool_choice"] == "required")
        #expect(chat["parallel_tool_calls"] == false)
        let off = try translate(["messages": [["role": "user", "content": "hi"]], "thinking": ["type": "disabled"]])
        #expect(off["reasoning_effort"] == "none")
        let named = try translate([
            "messages": [["role": "user", "content": "hi"]],
            "tools": [["name": "f", "input_schema": ["type": "object"]]], "tool_choice": ["type": "tool", "name": "f"],
        ])
        #expect(named["tool_choice"]?["function"]?["name"] == "f")
    }

    @Test func mistakesAreNamed() throws {
        func message(_ body: JSONObject, counting: Bool = false) -> String? {
            do {
                _ = try AnthropicRequest(json: .object(body), counting: counting)
                return nil
            } catch {
                #expect(error.status == 400)
                return error.message
            }
        }
        let hi: JSON = [["role": "user", "content": "hi"]]
        #expect(message(["model": "m", "messages": hi])?.contains("max_tokens") == true)
        #expect(message(["model": "m", "messages": hi], counting: true) == nil)
        #expect(message(["max_tokens": 1, "messages": hi])?.contains("model") == true)
        #expect(message(["model": "m", "max_tokens": 1, "messages": []])?.contains("messages") == true)
        #expect(message(["model": "m", "max_tokens": 1, "messages": [["role": "system", "content": "x"]]]) != nil)
        let server = message([
            "model": "m", "max_tokens": 1, "messages": hi,
            "tools": [["type": "web_search_20250305", "name": "web_search"]],
        ])
        #expect(server?.contains("web_search") == true)
        #expect(message(["model": "m", "max_tokens": 1, "messages": hi, "stop_sequences": "END"]) != nil)
    }

    @Test func tokenCountCoversSystemToolsAndMessages() throws {
        let bare = try AnthropicRequest(
            json: ["model": "m", "messages": [["role": "user", "content": "hello world"]]], counting: true)
        let full = try AnthropicRequest(
            json: [
                "model": "m", "system": .string(String(repeating: "s", count: 400)),
                "messages": [["role": "user", "content": "hello world"]],
                "tools": [["name": "f", "input_schema": ["type": "object", "description": .string(String(repeating: "d", count: 400))]]],
            ], counting: true)
        #expect(bare.inputTokens == 3)
        #expect(full.inputTokens > bare.inputTokens + 200)
    }
}

@Suite struct AnthropicResponseTests {
    let request = try! AnthropicRequest(
        json: ["model": "claude-x", "max_tokens": 10, "stop_sequences": ["END"], "messages": [["role": "user", "content": "hi"]]])

    @Test func blocksComeInOrderWithParsedInput() {
        let message = AnthropicResponse.message(
            [
                .text("Sure."), .reasoning("think"), .toolCall(index: 0, id: "call_1", name: "f"),
                .toolArguments(index: 0, "{\"a\":1}"), .finish(.toolCalls, matchedStop: nil), .usage(.init(input: 7, output: 3)),
            ], request: request)
        let content = message["content"]?.arrayValue ?? []
        #expect(content.map { $0["type"]?.stringValue } == ["thinking", "text", "tool_use"])
        #expect(content[0]["signature"]?.stringValue == ThinkingSignature.of("think"))
        #expect(content[2]["input"] == ["a": 1])
        #expect(content[2]["id"] == "toolu_call_1")
        #expect(message["stop_reason"] == "tool_use")
        #expect(message["model"] == "claude-x")
        #expect(message["usage"] == ["input_tokens": 7, "output_tokens": 3])
        #expect(message["id"]?.stringValue?.hasPrefix("msg_") == true)
    }

    @Test func argumentsThatAreNotAnObjectAreKept() {
        let message = AnthropicResponse.message(
            [.toolCall(index: 0, id: "c", name: "f"), .toolArguments(index: 0, "not json")], request: request)
        #expect(message["content"]?.arrayValue?[0]["input"] == ["arguments": "not json"])
    }

    @Test func stopSequenceAndEstimate() {
        let message = AnthropicResponse.message([.text("abcdefgh"), .finish(.stop, matchedStop: "END")], request: request)
        #expect(message["stop_reason"] == "stop_sequence")
        #expect(message["stop_sequence"] == "END")
        #expect(message["usage"]?["output_tokens"] == 2)
        #expect(message["usage"]?["input_tokens"]?.intValue == Int64(request.inputTokens))
    }
}

@Suite struct AnthropicErrorTests {
    @Test func statusTable() {
        func mapped(_ error: GatewayError) -> String { "\(AnthropicError.statusAndType(error).status) \(AnthropicError.statusAndType(error).type)" }
        #expect(mapped(.invalidRequest("x")) == "400 invalid_request_error")
        #expect(mapped(.unauthorized("x")) == "401 authentication_error")
        #expect(mapped(.init(status: 403, message: "x", type: "t")) == "403 permission_error")
        #expect(mapped(.modelNotFound("m", known: [])) == "404 not_found_error")
        #expect(mapped(.bodyTooLarge(limit: 1)) == "413 request_too_large")
        #expect(mapped(.rateLimited("x")) == "429 rate_limit_error")
        #expect(mapped(.upstreamFailed("x")) == "502 api_error")
        #expect(mapped(.internalError()) == "500 api_error")
        #expect(mapped(.upstreamTimeout("x")) == "504 timeout_error")
        #expect(mapped(.upstreamOverloaded("x")) == "529 overloaded_error")
        #expect(mapped(.unavailable("x")) == "503 api_error")
        #expect(AnthropicError.json(.invalidRequest("bad")) == ["type": "error", "error": ["type": "invalid_request_error", "message": "bad"]])
    }
}

@Suite struct OpenAIChunkEventsTests {
    @Test func readsTextReasoningToolsFinishAndUsage() {
        var reader = OpenAIChunkEvents()
        var events: [ChatEvent] = []
        reader.read(["choices": [["index": 0, "delta": ["role": "assistant", "reasoning_content": "r", "content": "t"]]]], into: &events)
        reader.read(
            ["choices": [["index": 0, "delta": ["tool_calls": [["id": "c1", "function": ["name": "f", "arguments": "{"]]]]]]],
            into: &events)
        reader.read(["choices": [["index": 0, "delta": ["tool_calls": [["function": ["arguments": "}"]]]]]]], into: &events)
        reader.read(
            ["choices": [["index": 0, "delta": [:], "finish_reason": "stop", "stop_reason": "END"]],
             "usage": ["prompt_tokens": 4, "completion_tokens": 2]], into: &events)
        #expect(events == [
            .reasoning("r"), .text("t"), .toolCall(index: 0, id: "c1", name: "f"), .toolArguments(index: 0, "{"),
            .toolArguments(index: 0, "}"), .usage(.init(input: 4, output: 2)), .finish(.stop, matchedStop: "END"),
        ])
    }
}

@Suite struct JSONValueEndTests {
    @Test func knowsWhenAValueIsWhole() {
        var end = JSONValueEnd()
        for piece in ["{\"a\":", "\"}{\\\"\"", ", \"b\": [1, {}]"] {
            end.feed(piece)
            #expect(!end.isComplete)
        }
        end.feed("}")
        #expect(end.isComplete)
    }
}

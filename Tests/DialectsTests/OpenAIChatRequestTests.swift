import Foundation
import Testing

@testable import ChatCore
@testable import Dialects
@testable import OpenAIWire

@Suite struct ChatRequestTests {
    static let user: JSON = ["role": "user", "content": "hi"]

    func validate(_ json: String) -> GatewayError? {
        do {
            _ = try ChatRequest(openAI: try JSONCoding.decode(Data(json.utf8)))
            return nil
        } catch let error as GatewayError {
            return error
        } catch {
            Issue.record("not JSON: \(json)")
            return nil
        }
    }

    @Test func acceptsTheFullOpenAIRequestShape() throws {
        let body = """
            {"model":"glm-4.7","messages":[{"role":"system","content":"s"},{"role":"developer","content":"d"},
            {"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
            {"role":"assistant","content":null,"reasoning_content":"r","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"42"}],
            "tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto","parallel_tool_calls":true,
            "stop":["a","b"],"max_tokens":10,"max_completion_tokens":10,"temperature":0.5,"top_p":1,"response_format":{"type":"text"},
            "stream":true,"stream_options":{"include_usage":true},"n":1,"user":"u","x_vendor":{"anything":[1,2]}}
            """
        let request = try ChatRequest(openAI: try JSONCoding.decode(Data(body.utf8)))
        #expect(request.model == "glm-4.7")
        #expect(request.stream && request.includeUsage)
        #expect(request.openAIBody["x_vendor"] != nil, "unknown vendor fields are kept")
    }

    @Test(
        arguments: [
            ("[]", nil),
            ("{}", "model"),
            ("{\"model\":5,\"messages\":[]}", "model"),
            ("{\"model\":\"\",\"messages\":[]}", "model"),
            ("{\"model\":\"m\"}", "messages"),
            ("{\"model\":\"m\",\"messages\":[]}", "messages"),
            ("{\"model\":\"m\",\"messages\":\"hi\"}", "messages"),
            ("{\"model\":\"m\",\"messages\":[5]}", "messages[0]"),
            ("{\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}", "messages[0].role"),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", "messages[0].role"),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}", "messages[0].content"),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":7}]}", "messages[0].content"),
            (
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
                "messages[0].content[0].text"
            ),
            (
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"ftp://x\"}}]}]}",
                "messages[0].content[0].image_url"
            ),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages[0].tool_call_id"),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}", "stream"),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":0}", "n"),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":1.5}", "n"),
            (
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}",
                "temperature"
            ),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}", "temperature"),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":-1}", "max_tokens"),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}", "stop"),
            ("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":{}}", "tools"),
            (
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\"}]}",
                "tools[0].function.name"
            ),
            (
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"sometimes\"}",
                "tool_choice"
            ),
            (
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true,\"stream_options\":{\"include_usage\":\"y\"}}",
                "stream_options.include_usage"
            ),
        ] as [(String, String?)])
    func rejectsWithParamNamingTheField(body: String, param: String?) throws {
        let error = try #require(validate(body))
        #expect(error.status == 400)
        #expect(error.type == "invalid_request_error")
        #expect(error.param == param)
    }

    @Test func errorShapeHasAllFourKeys() {
        let json = GatewayError.invalidRequest("bad").openAIJSON
        let error = json["error"]?.objectValue ?? [:]
        #expect(Set(error.keys) == ["message", "type", "param", "code"])
        #expect(error["param"] == .null)
    }

    @Test func readsIntoTheCanonicalChatAndKeepsTheBodyWhole() throws {
        let body: JSON = [
            "model": "m", "temperature": 0.5, "max_completion_tokens": 9, "stop": "END", "user": "u", "n": 2,
            "reasoning_effort": "none", "x_vendor": true, "tool_choice": ["type": "function", "function": ["name": "f"]],
            "tools": [["type": "function", "function": ["name": "f", "parameters": ["type": "object"]]]],
            "messages": [
                ["role": "system", "content": "be brief"],
                ["role": "user", "content": [["type": "text", "text": "look"], ["type": "image_url", "image_url": ["url": "https://x/y.png"]], ["type": "input_audio"]]],
                ["role": "assistant", "content": nil, "reasoning_content": "hmm", "tool_calls": [["id": "c1", "type": "function", "function": ["name": "f", "arguments": "{}"]]]],
                ["role": "tool", "tool_call_id": "c1", "content": "42"],
            ],
        ]
        let chat = try ChatRequest(openAI: body)
        #expect(chat.openAIBody == body.objectValue, "sent upstream exactly as the client wrote it")
        #expect(chat.messages.map(\.role) == [.system, .user, .assistant, .tool])
        #expect(chat.messages[1].content == [.text("look"), .image(url: "https://x/y.png"), .other(type: "input_audio")])
        #expect(chat.messages[2].toolCalls == [ToolCall(id: "c1", name: "f", arguments: "{}")])
        #expect(chat.messages[2].reasoning == "hmm")
        #expect(chat.messages[3].toolCallID == "c1" && chat.messages[3].text == "42")
        #expect(chat.tools == [ToolDefinition(name: "f", parameters: ["type": "object"])])
        #expect(chat.toolChoice == .function("f"))
        #expect(chat.sampling == Sampling(temperature: 0.5, maxTokens: 9, stop: ["END"]))
        #expect(chat.reasoning == .off && chat.user == "u" && chat.choiceCount == 2)
    }

    @Test func aChatFromAnotherDialectIsRenderedInTheOpenAIFormat() {
        let chat = ChatRequest(
            model: "m",
            messages: [
                ChatMessage(role: .user, content: [.text("hi")]),
                ChatMessage(role: .assistant, content: [], toolCalls: [ToolCall(id: "t", name: "f", arguments: "{}")]),
                ChatMessage(role: .tool, content: [.text("ok")], toolCallID: "t"),
            ],
            tools: [ToolDefinition(name: "f")], toolChoice: .required, parallelToolCalls: false,
            sampling: Sampling(topK: 5, maxTokens: 10), reasoning: .on(effort: "high"), stream: true, includeUsage: true)
        let body = chat.openAIBody
        #expect(body["messages"]?.arrayValue?[0] == ["role": "user", "content": "hi"])
        #expect(body["messages"]?.arrayValue?[1]["content"] == .null)
        #expect(body["messages"]?.arrayValue?[1]["tool_calls"]?.arrayValue?[0]["function"]?["name"] == "f")
        #expect(body["messages"]?.arrayValue?[2] == ["role": "tool", "content": "ok", "tool_call_id": "t"])
        #expect(body["tool_choice"] == "required" && body["parallel_tool_calls"] == false)
        #expect(body["top_k"] == 5 && body["max_tokens"] == 10 && body["reasoning_effort"] == "high")
        #expect(body["stream"] == true && body["stream_options"] == ["include_usage": true])
    }
}

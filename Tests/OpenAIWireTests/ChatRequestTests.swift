import Foundation
import Testing

@testable import OpenAIWire

@Suite struct ChatRequestTests {
    static let user: JSON = ["role": "user", "content": "hi"]

    func validate(_ json: String) -> OpenAIError? {
        do {
            _ = try ChatRequest(json: try JSONCoding.decode(Data(json.utf8)))
            return nil
        } catch let error as OpenAIError {
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
        let request = try ChatRequest(json: try JSONCoding.decode(Data(body.utf8)))
        #expect(request.model == "glm-4.7")
        #expect(request.stream && request.includeUsage)
        #expect(request.body["x_vendor"] != nil, "unknown vendor fields are kept")
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
        let json = OpenAIError.invalidRequest("bad").json
        let error = json["error"]?.objectValue ?? [:]
        #expect(Set(error.keys) == ["message", "type", "param", "code"])
        #expect(error["param"] == .null)
    }
}

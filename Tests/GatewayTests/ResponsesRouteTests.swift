import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Mocks
import NIOCore
import OpenAIWire
import Testing

@testable import Gateway

/// The Responses dialect at the HTTP edge (docs/protocols/openai-responses.md): the mapping to
/// the upstream, the response object, stored responses and who may read them, and errors.
@Suite struct ResponsesRouteTests {
    static let alice: HTTPFields = [.authorization: "Bearer sk-client-alice"]
    static let bob: HTTPFields = [.authorization: "Bearer sk-client-bob"]

    static func harness() -> GatewayHarness {
        GatewayHarness { config in
            config.clientKeys = ["sk-client-alice", "sk-client-bob"]
            config.clientKeyNames = ["sk-client-alice": "alice", "sk-client-bob": "bob"]
        }
    }

    @Test func aRequestIsMappedToTheChatTheUpstreamTakes() async throws {
        let harness = Self.harness()
        try await harness.run { gateway, _ in
            let body: JSON = [
                "model": "glm-4.7", "instructions": "Be brief.", "max_output_tokens": 50, "temperature": 0.5,
                "reasoning": ["effort": "high"], "user": "u-1",
                "text": ["format": ["type": "json_schema", "name": "answer", "schema": ["type": "object"], "strict": true]],
                "tools": [["type": "function", "name": "get_weather", "parameters": ["type": "object"]]],
                "tool_choice": "required", "parallel_tool_calls": false,
                "input": [
                    ["role": "user", "content": "Weather in Paris?"],
                    ["type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"],
                    ["type": "function_call_output", "call_id": "call_1", "output": "sunny"],
                ],
            ]
            let response = try await gateway.chat(body, path: "/v1/responses", headers: Self.alice)
            #expect(response.status == .ok)
            let sent = try #require(harness.mock.requests.last?.body)
            let messages = try #require(sent["messages"]?.arrayValue)
            #expect(messages.map { $0["role"]?.stringValue } == ["system", "user", "assistant", "tool"])
            #expect(messages[0]["content"] == "Be brief.")
            #expect(messages[2]["tool_calls"]?.arrayValue?[0]["id"] == "call_1" && messages[3]["tool_call_id"] == "call_1")
            #expect(sent["max_tokens"] == 50 && sent["temperature"] == 0.5 && sent["user"] == "u-1")
            #expect(sent["response_format"]?["json_schema"]?["name"] == "answer")
            #expect(sent["tools"]?.arrayValue?[0]["function"]?["name"] == "get_weather" && sent["tool_choice"] == "required")
            #expect(sent["parallel_tool_calls"] == false)
        }
    }

    @Test func theResponseObjectHasItsItemsAndUsage() async throws {
        let harness = Self.harness()
        try await harness.run { gateway, _ in
            let response = try await gateway.chat(
                ["model": "glm-4.7", "input": "scenario:reasoning", "metadata": ["team": "a"]], path: "/v1/responses",
                headers: Self.alice)
            let json = try #require(response.json)
            #expect(json["object"] == "response" && json["status"] == "completed" && json["model"] == "glm-4.7")
            #expect(json["id"]?.stringValue?.hasPrefix("resp_") == true && json["metadata"]?["team"] == "a")
            let output = try #require(json["output"]?.arrayValue)
            #expect(output.map { $0["type"]?.stringValue } == ["reasoning", "message"])
            #expect(output[0]["summary"]?.arrayValue?[0]["text"] == "Let me think.")
            #expect(output[1]["content"]?.arrayValue?[0]["type"] == "output_text" && output[1]["content"]?.arrayValue?[0]["text"] == "42")
            #expect(json["usage"]?["input_tokens"] == 5 && json["usage"]?["output_tokens"] == 4)
            #expect(json["usage"]?["total_tokens"] == 9)

            let tool = try #require(
                try await gateway.chat(["model": "glm-4.7", "input": "scenario:tool"], path: "/v1/responses", headers: Self.alice)
                    .json?["output"]?.arrayValue)
            #expect(tool.map { $0["type"]?.stringValue } == ["function_call"])
            #expect(tool[0]["call_id"] == "call_1" && tool[0]["name"] == "get_weather")
            #expect(tool[0]["arguments"] == "{\"city\":\"Paris\"}" && tool[0]["status"] == "completed")
        }
    }

    @Test func aStoredResponseContinuesAndBelongsToItsKey() async throws {
        let harness = Self.harness()
        try await harness.run { gateway, _ in
            let first = try #require(
                try await gateway.chat(["model": "glm-4.7", "input": "My name is Ada."], path: "/v1/responses", headers: Self.alice)
                    .json)
            let id = try #require(first["id"]?.stringValue)
            let next = try await gateway.chat(
                ["model": "glm-4.7", "input": "What is my name?", "previous_response_id": .string(id)], path: "/v1/responses",
                headers: Self.alice)
            #expect(next.status == .ok && next.json?["previous_response_id"] == .string(id))
            let sent = try #require(harness.mock.requests.last?.body["messages"]?.arrayValue)
            #expect(sent.map { $0["content"]?.stringValue } == ["My name is Ada.", "Hello from mock iFlow.", "What is my name?"])

            let fetched = try await gateway.execute(uri: "/v1/responses/\(id)", method: .get, headers: Self.alice)
            #expect(fetched.status == .ok && fetched.json == .object(first.objectValue!))
            // Another key: it does not exist.
            let other = try await gateway.execute(uri: "/v1/responses/\(id)", method: .get, headers: Self.bob)
            #expect(other.status == .notFound && other.json?["error"]?["code"] == "not_found")
            let continued = try await gateway.chat(
                ["model": "glm-4.7", "input": "hi", "previous_response_id": .string(id)], path: "/v1/responses", headers: Self.bob)
            #expect(continued.status == .notFound && continued.json?["error"]?["param"] == "previous_response_id")
            #expect(try await gateway.execute(uri: "/v1/responses/\(id)", method: .delete, headers: Self.bob).status == .notFound)

            let deleted = try await gateway.execute(uri: "/v1/responses/\(id)", method: .delete, headers: Self.alice)
            #expect(deleted.json == ["id": .string(id), "object": "response.deleted", "deleted": true])
            #expect(try await gateway.execute(uri: "/v1/responses/\(id)", method: .get, headers: Self.alice).status == .notFound)

            let unstored = try #require(
                try await gateway.chat(["model": "glm-4.7", "input": "hi", "store": false], path: "/v1/responses", headers: Self.alice)
                    .json?["id"]?.stringValue)
            #expect(try await gateway.execute(uri: "/v1/responses/\(unstored)", method: .get, headers: Self.alice).status == .notFound)
        }
    }

    /// A client that leaves mid-stream (here by closing its sending side, so that it could still
    /// read) cancels the stream: it gets no end and no error event, and nothing is stored to
    /// continue from.
    @Test func aStreamTheClientLeftIsNotStored() async throws {
        let harness = Self.harness()
        try await harness.run { gateway, _ in
            let body = #"{"model":"glm-4.7","input":"scenario:stall:5000","stream":true}"#
            let socket = try RawSocket(port: gateway.port!)
            try socket.send(
                "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-client-alice\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let started = await socket.receive { $0.contains("Hello") }
            let id = try #require(started.firstMatch(of: /"id":"(resp_[^"]+)"/)?.output.1)
            shutdown(socket.descriptor, Int32(SHUT_WR))
            let rest = await socket.receive { _ in false }  // until the server closes
            #expect(!rest.contains("response.completed") && !rest.contains("error"), "\(rest)")
            try await waitUntil { harness.mock.cancelledStreams == 1 }
            let fetched = try await gateway.execute(uri: "/v1/responses/\(id)", method: .get, headers: Self.alice)
            #expect(fetched.status == .notFound)
        }
    }

    @Test func badInputIsAnOpenAIErrorNamingTheField() async throws {
        try await Self.harness().run { gateway, _ in
            let cases: [(String, String)] = [
                (#"{"model":"glm-4.7"}"#, "input"),
                (#"{"input":"hi"}"#, "model"),
                (#"{"model":"glm-4.7","input":"hi","tools":[{"type":"web_search"}]}"#, "tools.0"),
                (#"{"model":"glm-4.7","input":[{"type":"item_reference","id":"x"}]}"#, "input.0"),
                (#"{"model":"glm-4.7","input":"hi","max_output_tokens":0}"#, "max_output_tokens"),
                (#"{"model":"glm-4.7","input":"hi","text":{"format":{"type":"xml"}}}"#, "text.format"),
                (#"{"model":"glm-4.7","input":"hi","tool_choice":{"type":"file_search"},"tools":[{"type":"function","name":"f"}]}"#, "tool_choice"),
            ]
            for (body, param) in cases {
                let response = try await gateway.execute(
                    uri: "/v1/responses", method: .post, headers: Self.alice.merging([.contentType: "application/json"]),
                    body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.json?["error"]?["param"]?.stringValue == param, "\(body)")
            }
            let builtIn = try await gateway.chat(
                ["model": "glm-4.7", "input": "hi", "tools": [["type": "web_search"]]], path: "/v1/responses", headers: Self.alice)
            #expect(builtIn.json?["error"]?["message"]?.stringValue?.contains("'web_search'") == true)
            let missing = try await gateway.chat(
                ["model": "glm-4.7", "input": "hi", "previous_response_id": "resp_nope"], path: "/v1/responses",
                headers: Self.alice)
            #expect(missing.status == .notFound && missing.json?["error"]?["code"] == "previous_response_not_found")
            #expect(try await gateway.execute(uri: "/v1/responses", method: .get, headers: Self.alice).status == .methodNotAllowed)
            #expect(try await gateway.execute(uri: "/v1/responses/x", method: .put, headers: Self.alice).status == .methodNotAllowed)
            let anonymous = try await gateway.chat(["model": "glm-4.7", "input": "hi"], path: "/v1/responses")
            #expect(anonymous.status == .unauthorized, "\(anonymous.status)")
        }
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var fields = self
        fields.append(contentsOf: other)
        return fields
    }
}

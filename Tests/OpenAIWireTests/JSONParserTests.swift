import Foundation
import NIOCore
import Testing

@testable import OpenAIWire

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSON { try JSONParser.parse(Array(text.utf8)) }

    @Test func valuesOfEveryKind() throws {
        let json = try parse(#" {"a":[1,-2,3.5,1e3,-0.25E-2,true,false,null,"s"],"b":{},"c":[]} "#)
        #expect(json["a"] == [1, -2, 3.5, 1000.0, -0.0025, true, false, nil, "s"])
        #expect(json["b"] == .object([:]))
        #expect(json["c"] == [])
    }

    @Test func keepsFieldOrder() throws {
        let json = try parse(#"{"z":1,"a":2,"m":3}"#)
        #expect(json.objectValue?.keys == ["z", "a", "m"])
        #expect(JSONCoding.string(json) == #"{"z":1,"a":2,"m":3}"#)
    }

    @Test func duplicateKeysLastWins() throws {
        #expect(try parse(#"{"a":1,"a":2}"#) == ["a": 2])
        let many = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        #expect(try parse("{\(many),\"k3\":99}")["k3"] == 99)
    }

    @Test func stringEscapesAndUnicode() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(try parse(#""\u00e9\u4e2d\ud83d\ude00""#) == .string("é中😀"))
        #expect(try parse(#""\ud83d x""#) == .string("\u{FFFD} x"), "a lone surrogate is replaced")
        #expect(try parse("\"ünïcødé ✓\"") == .string("ünïcødé ✓"))
    }

    @Test func invalidUTF8InAStringIsRejectedWithAndWithoutEscapes() throws {
        for bytes: [UInt8] in [
            [0x22, 0x61, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0x5C, 0x6E, 0xED, 0xA0, 0x80, 0x22],
        ] {
            #expect(throws: JSONParser.Error.self) { try JSONParser.parse(bytes) }
        }
        #expect(try JSONParser.parse([0x22, 0xC3, 0xA9, 0x5C, 0x6E, 0x22]) == .string("é\n"))
    }

    @Test func numbersKeepTheirKind() throws {
        #expect(try parse("9223372036854775807") == .int(Int64.max))
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try parse("1.0") == .double(1))
        #expect(try parse("-0") == .int(0))
    }

    @Test func integersAreWrittenAsTheyWereRead() throws {
        for text in ["0", "7", "-7", "10", "-10", "1700000000", "9223372036854775807", "-9223372036854775808"] {
            #expect(JSONCoding.string(try parse(text)) == text)
        }
        #expect(JSONCoding.string(["n": .int(-120), "m": [.int(42)]]) == #"{"n":-120,"m":[42]}"#)
    }

    @Test func knownNamesAndTheirNearMissesReadBack() throws {
        let text = #"{"model":"modem","usagf":"usage","object":"chat.completion.chunK","id":"chat.completion.chunk","":"i"}"#
        let object = try parse(text).objectValue ?? [:]
        #expect(object.keys == ["model", "usagf", "object", "id", ""])
        #expect(object["model"] == "modem" && object["usagf"] == "usage" && object["usage"] == nil)
        #expect(object["object"] == "chat.completion.chunK" && object["id"] == "chat.completion.chunk")
        #expect(JSONCoding.string(.object(object)) == text)
    }

    @Test func keysOfEqualLengthAreStillTold() throws {
        var object = try parse(#"{"ab":1,"ba":2,"abc":3,"aé":4}"#).objectValue ?? [:]
        #expect(object["ba"] == 2 && object["ab"] == 1 && object["abc"] == 3 && object["aé"] == 4)
        #expect(object["ac"] == nil)
        object["ba"] = 5
        object.removeValue(forKey: "ab")
        #expect(JSONCoding.string(.object(object)) == #"{"ba":5,"abc":3,"aé":4}"#)
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{a:1}", "{\"a\" 1}", "[1 2]", "01", "1.", ".5", "-", "1e", "+1", "tru",
        "nul", "\"abc", "\"\\x\"", "\"\\u12G4\"", "\"tab\there\"", "{}x", "[][]", "NaN", "Infinity", "1e999", "'a'",
    ])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: JSONParser.Error.self) { try parse(text) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse([0x22, 0xff, 0xfe, 0x22]) }
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse([0x22, 0x5c, 0x6e, 0xc3, 0x22]) }
    }

    @Test func nestingIsBounded() throws {
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try parse(ok) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParser.Error.self) { try parse(deep) }
    }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONParser.parse(Array(#"{"a": x}"#.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.offset == 6)
            #expect(error.description.contains("byte 6"))
        }
    }

    @Test func writerEscapesWhatJSONRequires() throws {
        let text = "quote\" backslash\\ newline\n tab\t nul\u{0} bell\u{7} é 😀"
        let written = JSONCoding.string(.string(text))
        #expect(written == #""quote\" backslash\\ newline\n tab\t nul\u0000 bell\u0007 é 😀""#)
        #expect(try parse(written) == .string(text))
    }

    @Test func agreesWithFoundationOnARealisticDocument() throws {
        let text = """
            {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"glm-4.7",
             "choices":[{"index":0,"delta":{"content":"Hi \\"there\\" \\u00e9\\n","tool_calls":[{"index":0,
             "function":{"arguments":"{\\"city\\":\\"Paris\\"}"}}]},"finish_reason":null,"logprobs":null}],
             "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"ratio":0.25}}
            """
        let ours = try parse(text)
        let foundation = try JSONSerialization.jsonObject(with: Data(JSONCoding.string(ours).utf8)) as? [String: Any]
        #expect(foundation?["created"] as? Int == 1_700_000_000)
        let choice = (foundation?["choices"] as? [[String: Any]])?.first
        let delta = choice?["delta"] as? [String: Any]
        #expect(delta?["content"] as? String == "Hi \"there\" é\n")
        #expect(try parse(JSONCoding.string(ours)) == ours, "write then parse is the identity")
    }
}

/// docs/security.md: a body of many tiny values is refused before it takes gigabytes.
@Suite struct JSONParserLimitTests {
    @Test func valueCountIsCapped() throws {
        let few = "[" + Array(repeating: "0", count: 1000).joined(separator: ",") + "]"
        _ = try few.utf8CString.withUnsafeBytes { try JSONParser.parse(UnsafeRawBufferPointer(rebasing: $0.dropLast()), maxValues: 1001) }
        #expect(throws: JSONParser.Error.self) {
            _ = try few.utf8CString.withUnsafeBytes {
                try JSONParser.parse(UnsafeRawBufferPointer(rebasing: $0.dropLast()), maxValues: 1000)
            }
        }
    }

    @Test func theDefaultCapRefusesAHugeArrayOfZeros() {
        let bytes = Array("[".utf8) + Array(repeating: Array("0,".utf8), count: JSONParser.maxValues).flatMap { $0 } + Array("0]".utf8)
        #expect(throws: JSONParser.Error.self) { _ = try JSONParser.parse(bytes) }
    }
}

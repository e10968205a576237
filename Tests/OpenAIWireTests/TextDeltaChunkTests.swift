import Testing

@testable import OpenAIWire

@Suite struct TextDeltaChunkTests {
    func match(_ text: String) -> TextDeltaChunk? { TextDeltaChunk(Array(text.utf8)) }

    @Test func theShapesUpstreamsSendAreRecognised() throws {
        let bench = try #require(
            match(#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok1 "},"finish_reason":null}]}"#))
        #expect(bench.string(bench.content) == "tok1 " && bench.reasoning == nil && bench.systemFingerprint == nil)

        let openAI = try #require(
            match(#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","service_tier":null,"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}],"usage":null}"#))
        #expect(openAI.json(try #require(openAI.systemFingerprint)) == "fp_44709d6fcb")
        #expect(openAI.json(try #require(openAI.serviceTier)) == .null)

        // Python's json.dumps puts spaces after separators; reasoning models send a null content.
        let spaced = try #require(
            match(#" { "id": "x", "choices": [ { "index": 0, "delta": { "role": "assistant", "content": null, "reasoning_content": "思考" } } ] } "#))
        #expect(spaced.content?.isNull == true && spaced.string(spaced.content) == nil)
        #expect(spaced.string(spaced.reasoning) == "思考" && spaced.reasoning?.scalars == 2)
    }

    @Test func escapesAreDecodedAndCountedAsCharacters() throws {
        let chunk = try #require(match(#"{"choices":[{"delta":{"content":"a\nb\"c\u00e9\\ 😀"}}]}"#))
        #expect(chunk.content?.escaped == true)
        #expect(chunk.string(chunk.content) == "a\nb\"c\u{e9}\\ 😀")
        #expect(chunk.content?.scalars == "a\nb\"c\u{e9}\\ 😀".unicodeScalars.count)
        let plain = try #require(match(#"{"choices":[{"delta":{"content":""}}]}"#))
        #expect(plain.content?.isEmpty == true && plain.content?.escaped == false)
    }

    @Test(arguments: [
        // What the shape does not cover goes to the parser.
        #"{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"stop"}]}"#,
        #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0}],"content":"x"}}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":"x"}}],"usage":{"prompt_tokens":1}}"#,
        #"{"choices":[{"index":0,"delta":{"content":"x"}}],"x_vendor":1}"#,
        #"{"choices":[{"index":0,"delta":{"content":"x"},"stop_reason":null}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":"x"}},{"index":1,"delta":{"content":"y"}}]}"#,
        #"{"choices":[{"index":1,"delta":{"content":"x"}}]}"#,
        #"{"choices":[{"index":0,"delta":{"content":"x"},"logprobs":{"content":[]}}]}"#,
        #"{"choices":[{"index":0,"delta":{"role":"assistant"}}]}"#,
        #"{"choices":[]}"#,
        #"{"id":"a","id":"b","choices":[{"delta":{"content":"x"}}]}"#,
        #"{"choices":[{"delta":{"content":"x","content":"y"}}]}"#,
        #"{"choices":[{"delta":{"conte\u006et":"x"}}]}"#,
        #"{"created":1.5,"choices":[{"delta":{"content":"x"}}]}"#,
        #"{"created":01,"choices":[{"delta":{"content":"x"}}]}"#,
        #"{"choices":[{"index":0.0,"delta":{"content":"x"}}]}"#,
        // What the parser would reject or repair.
        #"{"choices":[{"delta":{"content":"\ud83d\ude00"}}]}"#,
        #"{"choices":[{"delta":{"content":"\ud800"}}]}"#,
        #"{"choices":[{"delta":{"content":"\x"}}]}"#,
        #"{"choices":[{"delta":{"content":"\u12"}}]}"#,
        "{\"choices\":[{\"delta\":{\"content\":\"a\tb\"}}]}",
        #"{"choices":[{"delta":{"content":"x"}}]} x"#,
        #"{"choices":[{"delta":{"content":"x"}}]"#,
        #"{"choices":[{"delta":{"content":"x}}]}"#,
        #"{"choices":[{"delta":{"content":"x"},}]}"#,
    ])
    func otherChunksAreLeftToTheParser(_ text: String) {
        #expect(match(text) == nil)
    }

    @Test(arguments: [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE4, 0xBD], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x80]])
    func invalidUTF8IsLeftToTheParser(_ bad: [UInt8]) {
        let bytes = Array(#"{"choices":[{"delta":{"content":"a"#.utf8) + bad + Array(#"b"}}]}"#.utf8)
        #expect(TextDeltaChunk(bytes) == nil)
        #expect((try? JSONParser.parse(bytes)) == nil)
    }

    /// Whatever the scanner takes, the parser reads as the same text: mutations of real chunks,
    /// seeded so a failure can be replayed.
    @Test func whatTheScannerTakesTheParserReadsTheSame() throws {
        let seeds = [
            #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok\n1 é"},"finish_reason":null}]}"#,
            #"{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":"想\u00e9"},"logprobs":null}],"usage":null}"#,
        ].map { Array($0.utf8) }
        var random = FuzzTests.SeededRandom(state: 18)
        var taken = 0
        for round in 0..<20_000 {
            let bytes = FuzzTests.mutate(seeds[round % seeds.count], using: &random)
            guard let chunk = TextDeltaChunk(bytes) else { continue }
            taken += 1
            let parsed = try #require(try? JSONParser.parse(bytes), "round \(round): \(String(decoding: bytes, as: UTF8.self))")
            let delta = parsed["choices"]?.arrayValue?.first?["delta"]
            #expect(chunk.string(chunk.content) == delta?["content"]?.stringValue, "round \(round)")
            #expect(chunk.string(chunk.reasoning) == delta?["reasoning_content"]?.stringValue, "round \(round)")
            #expect(chunk.content?.scalars ?? 0 == delta?["content"]?.stringValue?.unicodeScalars.count ?? 0)
        }
        #expect(taken > 100)
    }
}

import NIOCore
import Testing

@testable import ChatCore
@testable import Dialects
@testable import OpenAIWire

/// A text-only chunk has two ways through a dialect: its bytes (`TextDeltaChunk`) or its parsed
/// object. Whatever the stream, the mode and the options, the client must read the same answer.
@Suite struct TextDeltaPathTests {
    static let head = #""id":"up-7","object":"chat.completion.chunk","created":7,"model":"glm-4.6""#

    static let streams: [[String]] = [
        // A role-first stream with a fingerprint, empty and null deltas, a finish and a usage chunk.
        [
            #"{\#(head),"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            #"{\#(head),"system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#,
            #"{\#(head),"choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}"#,
            #"{\#(head),"choices":[{"index":0,"delta":{"content":null},"logprobs":null}],"usage":null}"#,
            #"{\#(head),"system_fingerprint":"fp_2","choices":[{"index":0,"delta":{"role":"assistant","content":"lo \u00e9\n\"q\""}}]}"#,
            #"{\#(head),"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            #"{\#(head),"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}"#,
        ],
        // Reasoning, then the answer, no usage from the upstream (the estimate counts both).
        [
            #"{"id":"r","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":""}}]}"#,
            #"{"id":"r","choices":[{"index":0,"delta":{"reasoning_content":"think 想"}}]}"#,
            #"{"id":"r","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"more"}}]}"#,
            #"{"id":"r","choices":[{"index":0,"delta":{"reasoning_content":"","content":"answer"}}]}"#,
            #"{"id":"r","choices":[{"index":0,"delta":{"content":" done"}}]}"#,
            #"{"id":"r","choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]}"#,
        ],
        // No role chunk and no finish: the first text starts the choice, `[DONE]` ends it.
        [
            #"{ "id": "s", "choices": [ { "delta": { "content": "Hi" } } ] }"#,
            #"{ "choices": [ { "delta": { "reasoning_content": "hm", "content": "?" } } ], "service_tier": "default" }"#,
            #"{ "choices": [ { "delta": { "content": "!" } } ] }"#,
        ],
    ]

    struct Answer: Equatable {
        let events: [JSON?]
        let usage: JSONObject
    }

    func run(_ chunks: [String], bytes: Bool, includeUsage: Bool, reasoning: ReasoningOutput) throws -> Answer {
        var normalizer = ChatStreamNormalizer(
            model: "iflow/glm-4.6", includeUsage: includeUsage, reasoning: reasoning, created: 5, promptCharacters: 8)
        var out = ByteBuffer()
        for text in chunks {
            let raw = Array(text.utf8)
            if bytes, let delta = TextDeltaChunk(raw) {
                normalizer.accept(delta, into: &out)
            } else {
                normalizer.accept(try #require(try JSONParser.parse(raw).objectValue), into: &out)
            }
        }
        try normalizer.finish(complete: true, into: &out)
        return Answer(events: clientEvents(out), usage: normalizer.reportedUsage)
    }

    @Test(arguments: ReasoningOutput.allCases, [false, true])
    func bothPathsGiveTheSameAnswer(reasoning: ReasoningOutput, includeUsage: Bool) throws {
        for stream in Self.streams {
            let parsed = try run(stream, bytes: false, includeUsage: includeUsage, reasoning: reasoning)
            let forwarded = try run(stream, bytes: true, includeUsage: includeUsage, reasoning: reasoning)
            #expect(forwarded == parsed, "\(stream.first ?? "")")
        }
    }

    /// The byte path really runs: the upstream's own escape reaches the client as written
    /// (the JSON path would write the decoded character).
    @Test func textIsForwardedAsTheUpstreamWroteIt() throws {
        var normalizer = ChatStreamNormalizer(model: "m", includeUsage: true, reasoning: .passthrough, created: 5)
        var out = ByteBuffer()
        for text in Self.streams[0].prefix(5) {
            if let delta = TextDeltaChunk(Array(text.utf8)) {
                normalizer.accept(delta, into: &out)
            } else {
                normalizer.accept(try #require(try JSONParser.parse(Array(text.utf8)).objectValue), into: &out)
            }
        }
        let written = String(buffer: out)
        #expect(written.contains(#""content":"lo \u00e9\n\"q\"""#))
        #expect(written.contains(#""system_fingerprint":"fp_2""#))
        #expect(normalizer.emittedChunks == 3)
    }

    /// The Messages and Responses dialects read the same events from either form.
    @Test func eventDialectsReadTheSameEvents() throws {
        for stream in Self.streams {
            var parsed = EventStreamEncoder(writer: AnthropicStreamWriter(messageID: "m", model: "x", inputTokens: 1, stopSequences: []))
            var forwarded = parsed
            var viaObject = ByteBuffer()
            var viaBytes = ByteBuffer()
            for text in stream {
                let raw = Array(text.utf8)
                let object = try #require(try JSONParser.parse(raw).objectValue)
                parsed.accept(object, into: &viaObject)
                if let delta = TextDeltaChunk(raw) {
                    forwarded.accept(delta, into: &viaBytes)
                } else {
                    forwarded.accept(object, into: &viaBytes)
                }
            }
            #expect(String(buffer: viaBytes) == String(buffer: viaObject))
            #expect(!String(buffer: viaBytes).isEmpty)
        }
    }
}

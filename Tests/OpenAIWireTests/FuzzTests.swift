import Foundation
import NIOCore
import Testing

@testable import ChatCore
@testable import Dialects
@testable import OpenAIWire

/// Bounded, reproducible mutation fuzzing of the two parsers that read untrusted
/// bytes (the request decoder and the SSE parser). A failure prints its seed.
@Suite struct FuzzTests {
    /// SplitMix64: small, fast, and the same sequence on every machine.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let tokens = [
        "{", "}", "[", "]", "\"", ":", ",", "null", "true", "1e999", "-0", "\\u0000", "\\ud800", "\u{FFFD}",
    ]
    .map { Array($0.utf8) }

    static func mutate(_ input: [UInt8], using random: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 2 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...16, using: &random)))
            case 3: bytes.insert(contentsOf: tokens.randomElement(using: &random)!, at: position)
            case 4: bytes = Array(bytes.prefix(position))
            default:
                let end = min(bytes.count, position + Int.random(in: 1...32, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            }
        }
        return bytes
    }

    static let requestCorpus = [
        #"{"model":"glm-4.7","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"#,
        #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}],"n":1,"temperature":0.5}"#,
        #"{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"1"}],"tools":[{"type":"function","function":{"name":"f"}}],"stop":["x"]}"#,
    ].map { Array($0.utf8) }

    @Test func requestDecoderNeverCrashesAndOnlyEverSays400() {
        var random = SeededRandom(state: 0xF10A_6A7E)
        var accepted = 0
        for iteration in 0..<20_000 {
            let input = Self.mutate(Self.requestCorpus.randomElement(using: &random)!, using: &random)
            do {
                _ = try ChatRequest(openAI: try JSONCoding.decode(Data(input)))
                accepted += 1
            } catch let error as GatewayError {
                #expect(error.status == 400, "iteration \(iteration)")
            } catch {
                // Not JSON at all: the route answers this with invalid_json (400).
            }
        }
        #expect(accepted > 0, "the mutations also produce valid requests, so the accepting path is exercised")
    }

    @Test func sseParserGivesTheSameEventsHoweverTheBytesAreSplit() {
        var random = SeededRandom(state: 0x55E5_EED5)
        let base = Array(SSEParserTests.stream.utf8)
        for iteration in 0..<3_000 {
            let input = Self.mutate(base, using: &random)
            let whole = SSEParserTests.parse([input])
            var pieces: [[UInt8]] = []
            var rest = input[...]
            while !rest.isEmpty {
                let size = Int.random(in: 1...max(1, rest.count), using: &random)
                pieces.append(Array(rest.prefix(size)))
                rest = rest.dropFirst(size)
            }
            #expect(SSEParserTests.parse(pieces) == whole, "iteration \(iteration)")
        }
    }

    @Test func normalizerAlwaysEndsWithDoneOrATypedError() {
        var random = SeededRandom(state: 0xC4A1)
        let chunkText =
            #"{"id":"a","choices":[{"index":0,"delta":{"content":"x","reasoning_content":"r","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{"}}]},"finish_reason":null}],"usage":{"prompt_tokens":1}}"#
        for _ in 0..<2_000 {
            var normalizer = ChatStreamNormalizer(
                model: "m", includeUsage: Bool.random(using: &random),
                reasoning: ReasoningOutput.allCases.randomElement(using: &random)!, created: 1)
            var out = ByteBuffer()
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                let bytes = Self.mutate(Array(chunkText.utf8), using: &random)
                if case .object(let chunk)? = try? JSONCoding.decode(Data(bytes)) {
                    normalizer.accept(chunk, into: &out)
                }
            }
            do {
                try normalizer.finish(complete: Bool.random(using: &random), into: &out)
                #expect(String(buffer: out).hasSuffix("data: [DONE]\n\n"))
            } catch {
                #expect(error.status == 502)
            }
        }
    }
}

import ChatCore
import NIOCore
import OpenAIWire

/// Flowith answers with raw text as it is generated (docs/protocols/flowith.md). This turns each
/// network read into canonical events at once: UTF-8 split across reads is held back,
/// `<think>…</think>` becomes reasoning, and the end carries a finish and an estimated
/// usage (characters / 4, rounded up).
package struct FlowithTextDecoder: ChunkDecoder {
    private var splitter = ThinkTagSplitter()
    private var heldBytes: [UInt8] = []
    private let promptCharacters: Int
    private var completionCharacters = 0
    private var sawText = false

    package init(promptCharacters: Int) {
        self.promptCharacters = promptCharacters
    }

    package mutating func decode(_ buffer: ByteBuffer) throws -> [StreamItem] {
        var bytes = heldBytes
        bytes.append(contentsOf: buffer.readableBytesView)
        let complete = Self.completeUTF8Prefix(bytes)
        heldBytes = Array(bytes[complete...])
        return items(splitter.feed(String(decoding: bytes[..<complete], as: UTF8.self)))
    }

    package mutating func finish() throws -> [StreamItem] {
        var pieces: [ThinkTagSplitter.Piece] = []
        if !heldBytes.isEmpty {
            pieces = splitter.feed(String(decoding: heldBytes, as: UTF8.self))
            heldBytes = []
        }
        var result = items(pieces + splitter.finish())
        // Nothing at all: no chunks, so the gateway reports an empty upstream response.
        guard sawText else { return result }
        let usage = TokenUsage.estimate(promptCharacters: promptCharacters, completionCharacters: completionCharacters)
        result.append(.events([.finish(.stop, matchedStop: nil), .usage(usage)]))
        result.append(.done)
        return result
    }

    private mutating func items(_ pieces: [ThinkTagSplitter.Piece]) -> [StreamItem] {
        guard !pieces.isEmpty else { return [] }
        sawText = true
        return [
            .events(
                pieces.map { piece in
                    switch piece {
                    case .content(let text):
                        completionCharacters += text.count
                        return .text(text)
                    case .reasoning(let text):
                        completionCharacters += text.count
                        return .reasoning(text)
                    }
                })
        ]
    }

    /// The length of the longest prefix that ends on a whole UTF-8 character.
    static func completeUTF8Prefix(_ bytes: [UInt8]) -> Int {
        var start = bytes.count
        var back = 0
        while start > 0 && back < 4 {
            start -= 1
            back += 1
            let byte = bytes[start]
            if byte & 0xC0 != 0x80 {  // a lead byte (or ASCII)
                let length = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return back >= length ? bytes.count : start
            }
        }
        return bytes.count
    }
}

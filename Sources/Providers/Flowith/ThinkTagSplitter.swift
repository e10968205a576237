/// Splits Flowith's raw text answer into reasoning and content (docs/protocols/flowith.md): a
/// reasoning model starts its answer with `<think>…</think>`. Tags may be split
/// across network reads. Only a `<think>` at the very start opens reasoning, so
/// an answer that merely talks about the tag is left alone. Pure.
package struct ThinkTagSplitter: Sendable {
    package enum Piece: Sendable, Equatable {
        case reasoning(String)
        case content(String)
    }

    private enum State {
        /// Nothing but white space so far: an opening tag may still come.
        case start
        case thinking
        /// Right after `</think>`: the blank lines that follow it are dropped.
        case afterThinking
        case content
    }

    private static let open = "<think>"
    private static let close = "</think>"
    private var state = State.start
    /// Text held back because it may be the beginning of a tag.
    private var pending = ""

    package init() {}

    package mutating func feed(_ text: String) -> [Piece] {
        var pieces: [Piece] = []
        var text = pending + text
        pending = ""
        while !text.isEmpty {
            switch state {
            case .start:
                let trimmed = text.drop { $0.isWhitespace }
                if trimmed.hasPrefix(Self.open) {
                    text = String(trimmed.dropFirst(Self.open.count))
                    state = .thinking
                } else if Self.open.hasPrefix(trimmed) {
                    pending = text  // maybe "<thi" of "<think>": wait for more
                    return pieces
                } else {
                    state = .content
                }
            case .thinking:
                if let range = text.range(of: Self.close) {
                    append(.reasoning(String(text[..<range.lowerBound])), to: &pieces)
                    text = String(text[range.upperBound...])
                    state = .afterThinking
                } else {
                    let keep = Self.partialTagSuffix(of: text, tag: Self.close)
                    append(.reasoning(String(text.dropLast(keep))), to: &pieces)
                    pending = String(text.suffix(keep))
                    return pieces
                }
            case .afterThinking:
                text = String(text.drop { $0 == "\n" || $0 == "\r" })
                if !text.isEmpty { state = .content }
            case .content:
                append(.content(text), to: &pieces)
                return pieces
            }
        }
        return pieces
    }

    /// The answer ended: what was held back is released as what it turned out to be.
    package mutating func finish() -> [Piece] {
        defer { pending = "" }
        guard !pending.isEmpty else { return [] }
        switch state {
        case .thinking: return [.reasoning(pending)]
        default: return [.content(pending)]
        }
    }

    private func append(_ piece: Piece, to pieces: inout [Piece]) {
        switch piece {
        case .reasoning(let s) where s.isEmpty, .content(let s) where s.isEmpty: return
        default: pieces.append(piece)
        }
    }

    /// How many characters at the end of `text` could start `tag`.
    private static func partialTagSuffix(of text: String, tag: String) -> Int {
        for length in stride(from: min(tag.count - 1, text.count), to: 0, by: -1)
        where tag.hasPrefix(text.suffix(length)) {
            return length
        }
        return 0
    }
}

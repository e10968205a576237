import Testing

@testable import Providers

@Suite struct ThinkTagSplitterTests {
    typealias Piece = ThinkTagSplitter.Piece

    /// Joins consecutive pieces of the same kind, so results compare independent of splits.
    static func merged(_ pieces: [Piece]) -> [Piece] {
        var result: [Piece] = []
        for piece in pieces {
            switch (result.last, piece) {
            case (.reasoning(let a)?, .reasoning(let b)): result[result.count - 1] = .reasoning(a + b)
            case (.content(let a)?, .content(let b)): result[result.count - 1] = .content(a + b)
            default: result.append(piece)
            }
        }
        return result
    }

    static func split(_ parts: [String]) -> [Piece] {
        var splitter = ThinkTagSplitter()
        var pieces: [Piece] = []
        for part in parts { pieces += splitter.feed(part) }
        return merged(pieces + splitter.finish())
    }

    @Test func reasoningThenContent() {
        #expect(Self.split(["<think>ponder</think>\n\nAnswer"]) == [.reasoning("ponder"), .content("Answer")])
    }

    @Test func sameResultWhenSplitAtEveryCharacter() {
        let text = "  <think>a < b </thin and more</think>\n\nThe answer: <think> is literal"
        let expected: [Piece] = [.reasoning("a < b </thin and more"), .content("The answer: <think> is literal")]
        let characters = Array(text)
        for cut in 0...characters.count {
            #expect(Self.split([String(characters[..<cut]), String(characters[cut...])]) == expected, "cut \(cut)")
        }
        #expect(Self.split(characters.map { String($0) }) == expected)
    }

    @Test func noTagIsAllContent() {
        #expect(Self.split(["Hello ", "world"]) == [.content("Hello world")])
        #expect(Self.split(["<b>bold</b>"]) == [.content("<b>bold</b>")])
        #expect(Self.split(["<thi"]) == [.content("<thi")], "a lone tag start at the end is content")
    }

    @Test func unclosedThinkIsReasoning() {
        #expect(Self.split(["<think>still going</thi"]) == [.reasoning("still going</thi")])
    }

    @Test func tagLaterInTheAnswerIsNotReasoning() {
        #expect(Self.split(["Use ", "<think>tags</think>"]) == [.content("Use <think>tags</think>")])
    }
}

import NIOCore
import Testing

@testable import OpenAIWire

@Suite struct SSEParserTests {
    static let stream =
        "data: {\"a\":1}\n\n" + ": keep-alive comment\n\n" + "data:{\"b\":2}\r\n\r\n"
        + "event: note\ndata: line1\ndata: line2\n\n"
        + "data:  two spaces\r\rdata: ünïcødé ✓\n\n" + "id: 7\nretry: 100\n\n" + "data:[DONE]\n\n"

    static let expected: [SSEEvent] = [
        SSEEvent(data: Array("{\"a\":1}".utf8)),
        SSEEvent(data: Array("{\"b\":2}".utf8)),
        SSEEvent(data: Array("line1\nline2".utf8), event: "note"),
        SSEEvent(data: Array(" two spaces".utf8)),
        SSEEvent(data: Array("ünïcødé ✓".utf8)),
        SSEEvent(data: Array("[DONE]".utf8)),
    ]

    static func parse(_ pieces: [[UInt8]]) -> [SSEEvent] {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for piece in pieces { events += try! parser.feed(ByteBuffer(bytes: piece)) }
        return events + parser.finish()
    }

    @Test func parsesWholeStream() {
        #expect(Self.parse([Array(Self.stream.utf8)]) == Self.expected)
    }

    @Test func sameEventsWhenSplitAtEveryByteBoundary() {
        let bytes = Array(Self.stream.utf8)
        for split in 0...bytes.count {
            let events = Self.parse([Array(bytes[..<split]), Array(bytes[split...])])
            #expect(events == Self.expected, "split at \(split)")
        }
    }

    @Test func sameEventsWhenFedOneByteAtATime() {
        #expect(Self.parse(Array(Self.stream.utf8).map { [$0] }) == Self.expected)
    }

    @Test func sameEventsWhenSplitAtEveryPairOfBoundaries() {
        let bytes = Array(Self.stream.utf8)
        for first in stride(from: 0, through: bytes.count, by: 3) {
            for second in first...bytes.count {
                let pieces = [Array(bytes[..<first]), Array(bytes[first..<second]), Array(bytes[second...])]
                #expect(Self.parse(pieces) == Self.expected, "splits at \(first), \(second)")
            }
        }
    }

    @Test func lastEventWithoutBlankLineIsDeliveredAtEnd() {
        #expect(Self.parse([Array("data: {\"x\":1}\n\ndata:[DONE]".utf8)]).map(\.text) == ["{\"x\":1}", "[DONE]"])
    }

    @Test func commentsAndEmptyEventsProduceNothing() {
        #expect(Self.parse([Array(": ping\n\n\n\nevent: x\n\n".utf8)]).isEmpty)
    }
}

/// docs/security.md: an upstream cannot make the parser hold unbounded memory.
@Suite struct SSEParserLimitTests {
    func feed(_ parser: inout SSEParser, _ text: String, times: Int) throws(SSEParser.Overflow) -> Int {
        var events = 0
        for _ in 0..<times { events += try parser.feed(ByteBuffer(string: text)).count }
        return events
    }

    @Test func aLineThatNeverEndsIsRefusedAtTheLineCap() {
        var parser = SSEParser(maxLineBytes: 1000, maxEventBytes: 100_000)
        #expect(throws: SSEParser.Overflow(limit: 1000, what: "line")) {
            _ = try feed(&parser, "data: " + String(repeating: "a", count: 90), times: 12)
        }
    }

    @Test func dataLinesWithoutABlankLineAreRefusedAtTheEventCap() {
        var parser = SSEParser(maxLineBytes: 1000, maxEventBytes: 5000)
        #expect(throws: SSEParser.Overflow(limit: 5000, what: "event")) {
            _ = try feed(&parser, "data: xxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", times: 200)
        }
    }

    /// A read that starts with the end of a line begun in the read before ends that line; it is
    /// not a blank line, so it does not start the event's count again.
    @Test func lineEndsAtTheStartOfAReadDoNotResetTheEventCap() {
        var parser = SSEParser(maxLineBytes: 1000, maxEventBytes: 5000)
        #expect(throws: SSEParser.Overflow(limit: 5000, what: "event")) {
            _ = try feed(&parser, "\ndata: xxxxxxxxxxxxxxxxxxxxxxxxxxxx", times: 200)
        }
    }

    @Test func endlessCommentsWithoutABlankLineAreRefusedToo() {
        var parser = SSEParser(maxLineBytes: 1000, maxEventBytes: 5000)
        #expect(throws: SSEParser.Overflow(limit: 5000, what: "event")) {
            _ = try feed(&parser, ": ping ping ping ping ping ping\n", times: 200)
        }
    }

    @Test func manyEventsUnderTheCapsAreFine() throws {
        var parser = SSEParser(maxLineBytes: 1000, maxEventBytes: 5000)
        // 30 KB in all, each event far under the caps and split across two reads.
        let events = try feed(&parser, "\n\ndata: {\"x\":\"" + String(repeating: "y", count: 300) + "\"}", times: 100)
        #expect(events == 99)
        #expect(parser.finish().count == 1)
    }
}

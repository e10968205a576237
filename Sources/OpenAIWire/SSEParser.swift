import NIOCore

/// One server-sent event: the joined `data:` lines and the optional `event:` name.
package struct SSEEvent: Sendable, Equatable {
    package var data: [UInt8]
    package var event: String?

    package init(data: [UInt8], event: String? = nil) {
        self.data = data
        self.event = event
    }

    package var text: String { String(decoding: data, as: UTF8.self) }
}

/// Incremental server-sent-events parser (WHATWG rules) fed with network reads
/// that may split anywhere: inside a line, between CR and LF, inside UTF-8.
/// Pure and synchronous so it can be tested at every split point. A line, and the
/// bytes of one event, are capped (docs/security.md): an upstream that never ends a
/// line or an event gets `Overflow` instead of unbounded memory.
package struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var event: String?
    /// A CR ended the previous read: a following LF belongs to the same line end.
    private var skipLF = false
    /// Bytes taken since the last blank line (comments and ignored fields count too).
    private var eventBytes = 0
    package let maxLineBytes: Int
    package let maxEventBytes: Int

    /// The upstream broke a cap.
    package struct Overflow: Error, Sendable, Equatable {
        package let limit: Int
        package let what: String
    }

    package init(maxLineBytes: Int = 1 << 20, maxEventBytes: Int = 8 << 20) {
        self.maxLineBytes = maxLineBytes
        self.maxEventBytes = maxEventBytes
    }

    /// Feeds bytes, returns the events completed by them.
    package mutating func feed(_ buffer: ByteBuffer) throws(Overflow) -> [SSEEvent] {
        try buffer.withUnsafeReadableBytes { bytes throws(Overflow) in try feed(bytes: bytes) }
    }

    package mutating func feed(bytes: UnsafeRawBufferPointer) throws(Overflow) -> [SSEEvent] {
        var events: [SSEEvent] = []
        var start = 0
        var i = 0
        let count = bytes.count
        eventBytes += count
        while true {
            // The next line end; a tight loop, since this runs over every byte of every stream.
            while i < count && bytes[i] != UInt8(ascii: "\n") && bytes[i] != UInt8(ascii: "\r") { i += 1 }
            guard i < count else { break }
            let byte = bytes[i]
            if skipLF && byte == UInt8(ascii: "\n") && i == start && line.isEmpty {
                // LF of a CRLF whose CR ended the previous line.
                skipLF = false
                i += 1
                start = i
                continue
            }
            let blank = i == start && line.isEmpty
            if line.isEmpty {
                // The whole line is in this read: read it where it is.
                guard i - start <= maxLineBytes else { throw Overflow(limit: maxLineBytes, what: "line") }
                processLine(UnsafeRawBufferPointer(rebasing: bytes[start..<i]), into: &events)
            } else {
                try appendToLine(bytes, start..<i)
                processHeldLine(into: &events)
            }
            if blank { eventBytes = count - i - 1 }  // a blank line ends the event
            skipLF = byte == UInt8(ascii: "\r")
            i += 1
            start = i
        }
        if start < count { try appendToLine(bytes, start..<count) }
        if eventBytes > maxEventBytes { throw Overflow(limit: maxEventBytes, what: "event") }
        return events
    }

    private mutating func appendToLine(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(Overflow) {
        guard line.count + range.count <= maxLineBytes else { throw Overflow(limit: maxLineBytes, what: "line") }
        line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    /// The upstream closed: a last event without its blank line is still delivered
    /// (docs/protocols/iflow.md: iFlow may end with `data:[DONE]` and no terminator), never lost.
    package mutating func finish() -> [SSEEvent] {
        var events: [SSEEvent] = []
        if !line.isEmpty { processHeldLine(into: &events) }
        dispatch(into: &events)
        return events
    }

    /// The line gathered over several reads; emptied, keeping its capacity.
    private mutating func processHeldLine(into events: inout [SSEEvent]) {
        var held: [UInt8] = []
        swap(&held, &line)
        held.withUnsafeBytes { processLine($0, into: &events) }
        held.removeAll(keepingCapacity: true)
        swap(&held, &line)
    }

    private mutating func processLine(_ line: UnsafeRawBufferPointer, into events: inout [SSEEvent]) {
        if line.isEmpty {
            dispatch(into: &events)
            return
        }
        if line[0] == UInt8(ascii: ":") { return }  // comment
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let nameEnd = colon ?? line.endIndex
        var valueStart = colon.map { $0 + 1 } ?? line.endIndex
        // docs/protocols/iflow.md: `data:{...}` without a space is accepted; one leading space is removed.
        if valueStart < line.endIndex && line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let name = UnsafeRawBufferPointer(rebasing: line[..<nameEnd])
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart...])
        if name.elementsEqual("data".utf8) {
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        } else if name.elementsEqual("event".utf8) {
            event = String(decoding: value, as: UTF8.self)
        }
        // `id:` and `retry:` have no meaning for chat streams.
    }

    private mutating func dispatch(into events: inout [SSEEvent]) {
        if hasData {
            events.append(SSEEvent(data: data, event: event))
        }
        data.removeAll(keepingCapacity: true)
        hasData = false
        event = nil
    }
}

/// Encodes what the gateway writes to clients.
package enum SSEFrame {
    package static let done = ByteBuffer(string: "data: [DONE]\n\n")
    package static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")

    package static func write(_ json: JSON, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: ")
        JSONWriter.write(json, into: &buffer)
        buffer.writeStaticString("\n\n")
    }
}

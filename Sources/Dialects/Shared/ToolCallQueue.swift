/// The order in which a stream's tool calls are written, for grammars with one block or item
/// open at a time (docs/protocols/anthropic-messages.md and openai-responses.md, "Streaming"):
/// a call opens once it has a name and the call open before it has whole JSON arguments, so
/// calls whose argument pieces arrive interleaved lose nothing; pieces for a call that cannot
/// open yet wait in it.
struct ToolCallQueue: Sendable {
    struct Call: Sendable {
        enum State { case waiting, open, closed }
        var id: String?
        var name: String?
        /// Arguments received while the call could not be open yet.
        var pending = ""
        var state = State.waiting
        var arguments = JSONValueEnd()
    }

    private(set) var calls: [Int: Call] = [:]
    /// The call open now, if any.
    private(set) var open: Int?

    var isEmpty: Bool { calls.isEmpty }

    /// A call's first fragment, or a later one bringing its id or name.
    mutating func note(index: Int, id: String?, name: String?) {
        var call = calls[index] ?? Call()
        if call.id == nil { call.id = id }
        if call.name == nil { call.name = name }
        calls[index] = call
    }

    /// More arguments for a call; true when the call is open and the text is to be written now.
    mutating func arguments(index: Int, _ text: String) -> Bool {
        var call = calls[index] ?? Call()
        call.arguments.feed(text)
        let now = open == index
        if !now && call.state == .waiting { call.pending += text }
        calls[index] = call
        return now
    }

    /// The next call to open, when one may: none while the open call's arguments are incomplete.
    func next() -> Int? {
        if let open, calls[open]?.arguments.isComplete != true { return nil }
        return calls.keys.sorted().first { calls[$0]?.state == .waiting && calls[$0]?.name != nil }
    }

    /// The calls never opened (at the end they are written anyway), in order.
    var waiting: [Int] { calls.keys.sorted().filter { calls[$0]?.state == .waiting } }

    /// Marks the call open; returns it with the arguments that waited for it (now taken).
    mutating func opened(_ index: Int) -> Call {
        var call = calls[index] ?? Call()
        let taken = call
        call.pending = ""
        call.state = .open
        calls[index] = call
        open = index
        return taken
    }

    /// The open call's block or item was closed.
    mutating func closed() {
        if let open { calls[open]?.state = .closed }
        open = nil
    }
}

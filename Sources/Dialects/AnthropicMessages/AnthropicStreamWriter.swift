import ChatCore
import NIOCore
import OpenAIWire

/// Writes canonical events as the Messages streaming grammar (docs/protocols/anthropic-messages.md,
/// "Streaming"): `message_start` first, then one content block open at a time, each
/// opened only once it has content, indices dense from 0; tool arguments streamed as
/// they arrive; and always `message_delta` + `message_stop` at the end. Pure.
package struct AnthropicStreamWriter: Sendable {
    package let messageID: String
    package let model: String
    /// The local estimate, sent in `message_start` (the upstream counts only at the end).
    package let inputTokens: Int
    package let stopSequences: [String]

    private enum Block: Equatable {
        case none, text, thinking, tool(Int)
    }

    private struct Tool {
        enum State { case waiting, open, closed }
        var id: String?
        var name: String?
        /// Arguments received while the block could not be open yet.
        var pending = ""
        var state = State.waiting
        var arguments = JSONValueEnd()
    }

    private var started = false
    private var open = Block.none
    private var blocks = 0
    private var thinking = ""
    private var tools: [Int: Tool] = [:]
    private var sentToolUse = false
    private var finishReason: FinishReason?
    private var matchedStop: String?
    private var usage: TokenUsage?
    private var outputCharacters = 0

    package init(messageID: String, model: String, inputTokens: Int, stopSequences: [String]) {
        self.messageID = messageID
        self.model = model
        self.inputTokens = inputTokens
        self.stopSequences = stopSequences
    }

    package var hasStarted: Bool { started }

    /// The figures `message_delta` reports: the upstream's, else the local estimate.
    package var finalUsage: TokenUsage {
        usage ?? TokenUsage(input: inputTokens, output: (outputCharacters + 3) / 4)
    }

    package var usageIsEstimated: Bool { usage == nil }

    /// `message_start`: the answer begins (written as soon as the upstream answered, never held back).
    package mutating func start(into out: inout ByteBuffer) {
        guard !started else { return }
        started = true
        let message: JSON = [
            "id": .string(messageID), "type": "message", "role": "assistant", "model": .string(model),
            "content": [], "stop_reason": nil, "stop_sequence": nil,
            "usage": ["input_tokens": .int(Int64(inputTokens)), "output_tokens": 1],
        ]
        AnthropicSSE.write("message_start", ["type": "message_start", "message": message], into: &out)
    }

    package mutating func accept(_ event: ChatEvent, into out: inout ByteBuffer) {
        start(into: &out)
        switch event {
        case .text(let text):
            guard !text.isEmpty else { return }
            outputCharacters += text.count
            switchTo(.text, into: &out)
            delta(["type": "text_delta", "text": .string(text)], into: &out)
        case .reasoning(let text):
            guard !text.isEmpty else { return }
            outputCharacters += text.count
            switchTo(.thinking, into: &out)
            thinking += text
            delta(["type": "thinking_delta", "thinking": .string(text)], into: &out)
        case .toolCall(let index, let id, let name):
            var tool = tools[index] ?? Tool()
            if tool.id == nil { tool.id = id }
            if tool.name == nil { tool.name = name }
            tools[index] = tool
            advanceTools(into: &out)
        case .toolArguments(let index, let text):
            outputCharacters += text.count
            var tool = tools[index] ?? Tool()
            tool.arguments.feed(text)
            if open == .tool(index) {
                tools[index] = tool
                delta(["type": "input_json_delta", "partial_json": .string(text)], into: &out)
            } else {
                if tool.state == .waiting { tool.pending += text }
                tools[index] = tool
            }
            advanceTools(into: &out)
        case .finish(let reason, let stop):
            finishReason = reason
            matchedStop = stop
        case .usage(let reported):
            usage = reported
        }
    }

    /// The upstream ended: close what is open, send the calls still waiting, then
    /// `message_delta` and `message_stop` (also when the upstream sent no finish or usage).
    package mutating func finish(into out: inout ByteBuffer) {
        start(into: &out)
        closeOpen(into: &out)
        for index in tools.keys.sorted() where tools[index]?.state == .waiting {
            openTool(index, into: &out)
            closeOpen(into: &out)
        }
        let (stopReason, stopSequence) = AnthropicStop.reason(
            finishReason, matchedStop: matchedStop, sentToolUse: sentToolUse, stopSequences: stopSequences)
        let usage = finalUsage
        let messageDelta: JSON = [
            "type": "message_delta", "delta": ["stop_reason": .string(stopReason), "stop_sequence": stopSequence],
            "usage": ["input_tokens": .int(Int64(usage.input)), "output_tokens": .int(Int64(usage.output))],
        ]
        AnthropicSSE.write("message_delta", messageDelta, into: &out)
        AnthropicSSE.write("message_stop", ["type": "message_stop"], into: &out)
    }

    private mutating func switchTo(_ block: Block, into out: inout ByteBuffer) {
        guard open != block else { return }
        closeOpen(into: &out)
        let content: JSON
        switch block {
        case .text: content = ["type": "text", "text": ""]
        case .thinking: content = ["type": "thinking", "thinking": "", "signature": ""]
        case .tool, .none: return
        }
        startBlock(content, into: &out)
        open = block
    }

    /// Opens the next tool call that has a name, once the open block may close: text and
    /// thinking always may; a tool call only when its arguments are a whole JSON value
    /// (a call interleaved with another never loses its later arguments).
    private mutating func advanceTools(into out: inout ByteBuffer) {
        while true {
            if case .tool(let current) = open, tools[current]?.arguments.isComplete != true { return }
            guard let next = tools.keys.sorted().first(where: { tools[$0]?.state == .waiting && tools[$0]?.name != nil })
            else { return }
            closeOpen(into: &out)
            openTool(next, into: &out)
        }
    }

    private mutating func openTool(_ index: Int, into out: inout ByteBuffer) {
        guard var tool = tools[index] else { return }
        let id = MessageID.toolUse(tool.id)
        startBlock(
            ["type": "tool_use", "id": .string(id), "name": .string(tool.name ?? ""), "input": [:]], into: &out)
        open = .tool(index)
        sentToolUse = true
        if !tool.pending.isEmpty {
            delta(["type": "input_json_delta", "partial_json": .string(tool.pending)], into: &out)
            tool.pending = ""
        }
        tool.state = .open
        tools[index] = tool
    }

    private mutating func closeOpen(into out: inout ByteBuffer) {
        switch open {
        case .none: return
        case .thinking:
            delta(["type": "signature_delta", "signature": .string(ThinkingSignature.of(thinking))], into: &out)
            thinking = ""
        case .tool(let index): tools[index]?.state = .closed
        case .text: break
        }
        AnthropicSSE.write("content_block_stop", ["type": "content_block_stop", "index": .int(Int64(blocks - 1))], into: &out)
        open = .none
    }

    private mutating func startBlock(_ content: JSON, into out: inout ByteBuffer) {
        AnthropicSSE.write(
            "content_block_start",
            ["type": "content_block_start", "index": .int(Int64(blocks)), "content_block": content], into: &out)
        blocks += 1
    }

    private func delta(_ delta: JSON, into out: inout ByteBuffer) {
        AnthropicSSE.write(
            "content_block_delta", ["type": "content_block_delta", "index": .int(Int64(blocks - 1)), "delta": delta],
            into: &out)
    }
}

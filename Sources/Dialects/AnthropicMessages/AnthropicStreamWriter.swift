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

    private var started = false
    private var open = Block.none
    private var blocks = 0
    private var thinking = ""
    private var tools = ToolCallQueue()
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
            tools.note(index: index, id: id, name: name)
            advanceTools(into: &out)
        case .toolArguments(let index, let text):
            outputCharacters += text.count
            if tools.arguments(index: index, text) {
                delta(["type": "input_json_delta", "partial_json": .string(text)], into: &out)
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
        for index in tools.waiting {
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

    /// Opens the tool calls that may open (`ToolCallQueue`), closing the open block first.
    private mutating func advanceTools(into out: inout ByteBuffer) {
        while let next = tools.next() {
            closeOpen(into: &out)
            openTool(next, into: &out)
        }
    }

    private mutating func openTool(_ index: Int, into out: inout ByteBuffer) {
        let tool = tools.opened(index)
        let id = MessageID.toolUse(tool.id)
        startBlock(
            ["type": "tool_use", "id": .string(id), "name": .string(tool.name ?? ""), "input": [:]], into: &out)
        open = .tool(index)
        sentToolUse = true
        if !tool.pending.isEmpty {
            delta(["type": "input_json_delta", "partial_json": .string(tool.pending)], into: &out)
        }
    }

    private mutating func closeOpen(into out: inout ByteBuffer) {
        switch open {
        case .none: return
        case .thinking:
            delta(["type": "signature_delta", "signature": .string(ThinkingSignature.of(thinking))], into: &out)
            thinking = ""
        case .tool: tools.closed()
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

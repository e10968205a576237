import ChatCore
import NIOCore
import OpenAIWire

/// Builds a Responses answer from canonical events (docs/protocols/openai-responses.md): output
/// items in the order they began (`reasoning`, `message`, `function_call`), one open at a time,
/// each closed before the next opens. When `streaming`, it writes the streaming grammar as it
/// goes: every event has an `event:` name, a `type` and the next `sequence_number`; the answer
/// starts with `response.created` and `response.in_progress` and ends with `response.completed`
/// or `response.incomplete` (or `response.failed`, see `failed`). Pure.
package struct ResponsesWriter: Sendable {
    package struct Context: Sendable {
        package var id: String
        package var model: String
        package var createdAt: Int64
        /// The request's settings the response object repeats (`ResponsesRequest.echo`).
        package var echo: JSONObject
        package var metadata: JSON
        package var previousResponseID: String?
        package var store: Bool
        /// The local estimate of the input, for when the upstream reports no usage.
        package var inputTokens: Int

        package init(
            id: String, model: String, createdAt: Int64, echo: JSONObject = [:], metadata: JSON = [:],
            previousResponseID: String? = nil, store: Bool = true, inputTokens: Int = 0
        ) {
            self.id = id
            self.model = model
            self.createdAt = createdAt
            self.echo = echo
            self.metadata = metadata
            self.previousResponseID = previousResponseID
            self.store = store
            self.inputTokens = inputTokens
        }
    }

    private enum Kind: Equatable { case reasoning, message, call }

    private struct Item {
        var kind: Kind
        var id: String
        var text = ""
        var callID = ""
        var name = ""
        var done = false
    }

    package let context: Context
    private let streaming: Bool
    private var started = false
    private var items: [Item] = []
    private var open: Int?
    private var calls = ToolCallQueue()
    /// The open call's item, by its position in `items`.
    private var openCallItem: Int?
    private var sequence = 0
    private var finishReason: FinishReason?
    private var usage: TokenUsage?
    private var outputCharacters = 0

    package init(context: Context, streaming: Bool) {
        self.context = context
        self.streaming = streaming
    }

    package var hasStarted: Bool { started }
    /// `finish` ran: the answer is whole.
    package private(set) var isFinished = false
    package var usageIsEstimated: Bool { usage == nil }

    /// The upstream's figures, else the local estimate.
    package var finalUsage: TokenUsage {
        usage ?? TokenUsage(input: context.inputTokens, output: (outputCharacters + 3) / 4)
    }

    /// `response.created` and `response.in_progress`: written as soon as the upstream answered.
    package mutating func start(into out: inout ByteBuffer) {
        guard !started else { return }
        started = true
        let response = self.response(status: "in_progress")
        send("response.created", ["response": response], into: &out)
        send("response.in_progress", ["response": response], into: &out)
    }

    package mutating func accept(_ event: ChatEvent, into out: inout ByteBuffer) {
        start(into: &out)
        switch event {
        case .text(let text):
            guard !text.isEmpty else { return }
            outputCharacters += text.count
            let position = ensureOpen(.message, into: &out)
            items[position].text += text
            send(
                "response.output_text.delta",
                [
                    "item_id": .string(items[position].id), "output_index": .int(Int64(position)), "content_index": 0,
                    "delta": .string(text), "logprobs": [],
                ], into: &out)
        case .reasoning(let text):
            guard !text.isEmpty else { return }
            outputCharacters += text.count
            let position = ensureOpen(.reasoning, into: &out)
            items[position].text += text
            send(
                "response.reasoning_summary_text.delta",
                [
                    "item_id": .string(items[position].id), "output_index": .int(Int64(position)), "summary_index": 0,
                    "delta": .string(text),
                ], into: &out)
        case .toolCall(let index, let id, let name):
            calls.note(index: index, id: id, name: name)
            advanceCalls(into: &out)
        case .toolArguments(let index, let text):
            outputCharacters += text.count
            if calls.arguments(index: index, text), let position = openCallItem {
                items[position].text += text
                send(
                    "response.function_call_arguments.delta",
                    ["item_id": .string(items[position].id), "output_index": .int(Int64(position)), "delta": .string(text)],
                    into: &out)
            }
            advanceCalls(into: &out)
        case .finish(let reason, _):
            finishReason = reason
        case .usage(let reported):
            usage = reported
        }
    }

    /// The upstream ended: close what is open, send the calls still waiting, then
    /// `response.completed` (or `response.incomplete` when the answer was cut by the token limit
    /// or a content filter).
    package mutating func finish(into out: inout ByteBuffer) {
        start(into: &out)
        isFinished = true
        closeOpen(into: &out)
        for index in calls.waiting {
            openCall(index, into: &out)
            closeOpen(into: &out)
        }
        let response = finalResponse
        send(
            response["status"]?.stringValue == "completed" ? "response.completed" : "response.incomplete",
            ["response": response], into: &out)
    }

    /// The whole response as it stands once finished: what is returned without a stream, sent in
    /// the last event, and stored.
    package var finalResponse: JSON {
        switch finishReason {
        case .length?: response(status: "incomplete", incomplete: "max_output_tokens")
        case .contentFilter?: response(status: "incomplete", incomplete: "content_filter")
        default: response(status: "completed")
        }
    }

    /// `response.failed`: the stream ends with the error (what was output so far is in the response).
    package func failed(_ error: GatewayError, into out: inout ByteBuffer) {
        var copy = self
        copy.start(into: &out)
        var response = copy.response(status: "failed").objectValue ?? [:]
        response["error"] = ["code": .string(error.code ?? error.type), "message": .string(error.message)]
        copy.send("response.failed", ["response": .object(response)], into: &out)
    }

    // MARK: Items

    /// The open item if it is of `kind`, else a new one (the open one closed first).
    private mutating func ensureOpen(_ kind: Kind, into out: inout ByteBuffer) -> Int {
        if let open, items[open].kind == kind { return open }
        closeOpen(into: &out)
        let prefix = kind == .reasoning ? "rs_" : "msg_"
        return add(Item(kind: kind, id: MessageID.make(prefix: prefix)), into: &out)
    }

    private mutating func add(_ item: Item, into out: inout ByteBuffer) -> Int {
        items.append(item)
        let position = items.count - 1
        open = position
        send("response.output_item.added", ["output_index": .int(Int64(position)), "item": json(item)], into: &out)
        let id = JSON.string(item.id)
        switch item.kind {
        case .message:
            send(
                "response.content_part.added",
                [
                    "item_id": id, "output_index": .int(Int64(position)), "content_index": 0,
                    "part": ["type": "output_text", "text": "", "annotations": []],
                ], into: &out)
        case .reasoning:
            send(
                "response.reasoning_summary_part.added",
                [
                    "item_id": id, "output_index": .int(Int64(position)), "summary_index": 0,
                    "part": ["type": "summary_text", "text": ""],
                ], into: &out)
        case .call:
            break
        }
        return position
    }

    private mutating func closeOpen(into out: inout ByteBuffer) {
        guard let position = open else { return }
        open = nil
        items[position].done = true
        let item = items[position]
        let (id, index) = (JSON.string(item.id), JSON.int(Int64(position)))
        switch item.kind {
        case .message:
            send(
                "response.output_text.done",
                ["item_id": id, "output_index": index, "content_index": 0, "text": .string(item.text), "logprobs": []],
                into: &out)
            send(
                "response.content_part.done",
                [
                    "item_id": id, "output_index": index, "content_index": 0,
                    "part": ["type": "output_text", "text": .string(item.text), "annotations": []],
                ], into: &out)
        case .reasoning:
            send(
                "response.reasoning_summary_text.done",
                ["item_id": id, "output_index": index, "summary_index": 0, "text": .string(item.text)], into: &out)
            send(
                "response.reasoning_summary_part.done",
                [
                    "item_id": id, "output_index": index, "summary_index": 0,
                    "part": ["type": "summary_text", "text": .string(item.text)],
                ], into: &out)
        case .call:
            calls.closed()
            openCallItem = nil
            send(
                "response.function_call_arguments.done",
                ["item_id": id, "output_index": index, "name": .string(item.name), "arguments": .string(item.text)],
                into: &out)
        }
        send("response.output_item.done", ["output_index": index, "item": json(item)], into: &out)
    }

    /// Opens the calls that may open (`ToolCallQueue`), closing the open item first.
    private mutating func advanceCalls(into out: inout ByteBuffer) {
        while let next = calls.next() {
            closeOpen(into: &out)
            openCall(next, into: &out)
        }
    }

    private mutating func openCall(_ index: Int, into out: inout ByteBuffer) {
        let call = calls.opened(index)
        let item = Item(
            kind: .call, id: MessageID.make(prefix: "fc_"), callID: call.id ?? MessageID.make(prefix: "call_"),
            name: call.name ?? "")
        let position = add(item, into: &out)
        openCallItem = position
        if !call.pending.isEmpty {
            items[position].text = call.pending
            send(
                "response.function_call_arguments.delta",
                ["item_id": .string(item.id), "output_index": .int(Int64(position)), "delta": .string(call.pending)],
                into: &out)
        }
    }

    // MARK: JSON

    private func json(_ item: Item) -> JSON {
        let status: JSON = item.done ? "completed" : "in_progress"
        switch item.kind {
        case .message:
            return [
                "id": .string(item.id), "type": "message", "role": "assistant", "status": status,
                "content": item.done
                    ? [["type": "output_text", "text": .string(item.text), "annotations": [], "logprobs": []]] : [],
            ]
        case .reasoning:
            return [
                "id": .string(item.id), "type": "reasoning",
                "summary": item.done ? [["type": "summary_text", "text": .string(item.text)]] : [],
            ]
        case .call:
            return [
                "id": .string(item.id), "type": "function_call", "status": status, "call_id": .string(item.callID),
                "name": .string(item.name), "arguments": .string(item.done ? item.text : ""),
            ]
        }
    }

    private func response(status: String, incomplete: String? = nil) -> JSON {
        var response = context.echo
        response["id"] = .string(context.id)
        response["object"] = "response"
        response["created_at"] = .int(context.createdAt)
        response["status"] = .string(status)
        response["error"] = .null
        response["incomplete_details"] = incomplete.map { ["reason": .string($0)] } ?? .null
        response["model"] = .string(context.model)
        response["output"] = .array(items.map(json))
        response["metadata"] = context.metadata
        response["previous_response_id"] = context.previousResponseID.map(JSON.string) ?? .null
        response["store"] = .bool(context.store)
        if status == "in_progress" {
            response["usage"] = .null
        } else {
            let usage = finalUsage
            response["usage"] = [
                "input_tokens": .int(Int64(usage.input)), "input_tokens_details": ["cached_tokens": .int(Int64(usage.cached))],
                "output_tokens": .int(Int64(usage.output)),
                "output_tokens_details": ["reasoning_tokens": .int(Int64(usage.reasoning))],
                "total_tokens": .int(Int64(usage.input + usage.output)),
            ]
        }
        return .object(response)
    }

    /// One event (none when not streaming: a whole answer has one text event per item, so the
    /// fields built for nothing are few).
    private mutating func send(_ type: String, _ fields: JSONObject, into out: inout ByteBuffer) {
        guard streaming else { return }
        var event = fields
        event["type"] = .string(type)
        event["sequence_number"] = .int(Int64(sequence))
        sequence += 1
        out.writeString("event: \(type)\ndata: ")
        JSONWriter.write(.object(event), into: &out)
        out.writeStaticString("\n\n")
    }
}

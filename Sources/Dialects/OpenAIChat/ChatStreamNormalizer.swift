import OpenAIWire
import NIOCore

/// Rewrites upstream stream chunks into the framing docs/protocols/openai-chat.md promises clients:
/// one id/created, `role` on the first delta, `finish_reason` only on a choice's
/// last chunk, indexed tool-call deltas, usage only in one final chunk when asked,
/// and `[DONE]` at the end. Pure: the I/O around it feeds chunks and writes bytes.
package struct ChatStreamNormalizer: Sendable {
    package let model: String
    package let includeUsage: Bool
    package let reasoning: ReasoningOutput
    private var id: String?
    private var created: Int64
    private var startedChoices: Set<Int64> = []
    private var finishedChoices: Set<Int64> = []
    private var openThinkTags: Set<Int64> = []
    private var toolCallCounts: [Int64: Int64] = [:]
    private var usage: JSONObject?
    /// For the estimate when the upstream reports no usage.
    private let promptCharacters: Int
    private var completionCharacters = 0
    /// Fields the upstream's chunks carried that the usage chunk carries too.
    private var carried: JSONObject = [:]
    /// The usage the client is told: the upstream's, else the estimate.
    package var reportedUsage: JSONObject {
        usage.map(Usage.normalize)
            ?? Usage.estimate(promptCharacters: promptCharacters, completionCharacters: completionCharacters)
    }
    package var usageIsEstimated: Bool { usage == nil }
    /// Chunks written to the client so far (0 means an error can still be a plain HTTP error).
    package private(set) var emittedChunks = 0
    /// `data: {"id":…,"object":…,"created":…,"model":…` once they are fixed (after the first chunk).
    private var framePrefix: [UInt8] = []

    package init(
        model: String, includeUsage: Bool, reasoning: ReasoningOutput, created: Int64, promptCharacters: Int = 0
    ) {
        self.promptCharacters = promptCharacters
        self.model = model
        self.includeUsage = includeUsage
        self.reasoning = reasoning
        self.created = created
    }

    package mutating func accept(_ chunk: JSONObject, into out: inout ByteBuffer) {
        // One pass over the chunk's fields instead of a lookup each: this runs for every event.
        var choices: [JSON] = []
        for (key, value) in chunk {
            switch key {
            case "choices": if case .array(let list) = value { choices = list }
            case "usage": if case .object(let reported) = value { usage = reported }
            case "system_fingerprint", "service_tier": carried[key] = value
            default: break
            }
        }
        if id == nil {
            id = chunk["id"]?.stringValue ?? CompletionID.make()
            if let c = chunk["created"]?.intValue { created = c }
        }
        guard !choices.isEmpty else { return }
        var outChoices: [JSON] = []
        outChoices.reserveCapacity(choices.count)
        for (position, choiceValue) in choices.enumerated() {
            guard case .object(let choice) = choiceValue else { continue }
            if let normalized = normalize(choice: choice, position: position) {
                outChoices.append(.object(normalized))
            }
        }
        guard !outChoices.isEmpty else { return }
        var result = chunk
        result["choices"] = .array(outChoices)
        write(&result, into: &out)
    }

    /// A text-only chunk, written from the upstream's bytes when it would come out as the JSON
    /// path writes it anyway: choice 0 is open and no `<think>` tag is to be opened or closed.
    /// Everything else goes the JSON path (docs/performance.md, "Streams: text forwarded as
    /// written").
    package mutating func accept(_ delta: TextDeltaChunk, into out: inout ByteBuffer) {
        let dropped = reasoning != .passthrough
        guard let id, startedChoices.contains(0), !finishedChoices.contains(0),
            reasoning != .inline || (!openThinkTags.contains(0) && (delta.reasoning?.isEmpty ?? true))
        else { return accept(delta.object, into: &out) }
        if usage == nil { completionCharacters += (delta.content?.scalars ?? 0) + (delta.reasoning?.scalars ?? 0) }
        if let range = delta.systemFingerprint { carried["system_fingerprint"] = delta.json(range) }
        if let range = delta.serviceTier { carried["service_tier"] = delta.json(range) }
        // The JSON path drops a delta with nothing in it.
        guard delta.content?.isEmpty == false || (!dropped && delta.reasoning?.isEmpty == false) else { return }
        if framePrefix.isEmpty {
            var prefix = Array("data: ".utf8)
            let frame: JSONObject = [
                "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            ]
            JSONWriter.write(.object(frame), into: &prefix)
            prefix.removeLast()  // the closing brace
            framePrefix = prefix
        }
        out.writeBytes(framePrefix)
        delta.bytes.withUnsafeBytes { bytes in
            func member(_ name: StaticString, _ range: Range<Int>) {
                out.writeStaticString(name)
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[range]))
            }
            if let range = delta.systemFingerprint { member(#","system_fingerprint":"#, range) }
            if let range = delta.serviceTier { member(#","service_tier":"#, range) }
            out.writeStaticString(#","choices":[{"index":0,"delta":{"#)
            if let text = delta.reasoning, !dropped {
                member(#""reasoning_content":"#, text.range)
                if delta.content != nil { out.writeStaticString(",") }
            }
            if let text = delta.content { member(#""content":"#, text.range) }
        }
        out.writeStaticString(#"},"logprobs":null,"finish_reason":null}]"#)
        if includeUsage { out.writeStaticString(#","usage":null"#) }
        out.writeStaticString("}\n\n")
        emittedChunks += 1
    }

    /// The upstream ended. `complete` says whether it ended properly (`[DONE]`, or every
    /// choice finished); a cut stream is an error, never a silent truncation.
    package mutating func finish(complete: Bool, into out: inout ByteBuffer) throws(GatewayError) {
        guard emittedChunks > 0 else {
            throw .upstreamFailed(
                "Empty upstream response (the stream ended with no chunks); the context may be too long.",
                code: "empty_response")
        }
        let unfinished = startedChoices.subtracting(finishedChoices).sorted()
        if !complete && !unfinished.isEmpty {
            throw .upstreamFailed(
                "The upstream stream ended unexpectedly before the answer was complete.",
                code: "upstream_stream_interrupted")
        }
        for index in unfinished {
            var delta: JSONObject = [:]
            closeThinkTag(index, delta: &delta)
            finishedChoices.insert(index)
            let choice: JSON = [
                "index": .int(index), "delta": .object(delta), "finish_reason": "stop", "logprobs": nil,
            ]
            var chunk: JSONObject = ["choices": [choice]]
            write(&chunk, into: &out)
        }
        if includeUsage {
            var chunk = carried
            chunk["choices"] = []
            chunk["usage"] = .object(reportedUsage)
            write(&chunk, into: &out, keepUsage: true)
        }
        out.writeImmutableBuffer(SSEFrame.done)
    }

    /// An error after the stream started: one error event, then `[DONE]` (docs/protocols/openai-chat.md).
    package func writeError(_ error: GatewayError, into out: inout ByteBuffer) {
        SSEFrame.write(error.openAIJSON, into: &out)
        out.writeImmutableBuffer(SSEFrame.done)
    }

    private mutating func write(_ chunk: inout JSONObject, into out: inout ByteBuffer, keepUsage: Bool = false) {
        if id == nil { id = CompletionID.make() }
        chunk["id"] = .string(id!)
        chunk["object"] = "chat.completion.chunk"
        chunk["created"] = .int(created)
        chunk["model"] = .string(model)
        if !keepUsage {
            chunk["usage"] = includeUsage ? .null : nil
        }
        SSEFrame.write(.object(chunk), into: &out)
        emittedChunks += 1
    }

    private mutating func normalize(choice: JSONObject, position: Int) -> JSONObject? {
        let index = choice["index"]?.intValue ?? Int64(position)
        // Some upstreams repeat a finished choice (e.g. with the usage chunk): drop it.
        guard !finishedChoices.contains(index) else { return nil }
        var delta = choice["delta"]?.objectValue ?? [:]
        let finishReason = choice["finish_reason"]?.stringValue
        if usage == nil { completionCharacters += Usage.completionCharacters(delta) }
        applyReasoning(index, delta: &delta)
        if finishReason != nil { closeThinkTag(index, delta: &delta) }
        if case .array(let calls)? = delta["tool_calls"] {
            delta["tool_calls"] = .array(calls.map { .object(indexToolCall($0.objectValue ?? [:], choice: index)) })
        }
        let isFirst = !startedChoices.contains(index)
        if isFirst {
            delta["role"] = "assistant"
            startedChoices.insert(index)
        } else if delta["role"] != nil {
            delta["role"] = nil
        }
        if !isFirst && finishReason == nil && Self.isEmpty(delta) { return nil }
        if finishReason != nil { finishedChoices.insert(index) }
        var result = choice
        result["index"] = .int(index)
        result["delta"] = .object(delta)
        result["finish_reason"] = finishReason.map(JSON.string) ?? .null
        if result["logprobs"] == nil { result["logprobs"] = .null }
        return result
    }

    private static func isEmpty(_ delta: JSONObject) -> Bool {
        for (key, value) in delta {
            switch (key, value) {
            case ("role", _), (_, .null): continue
            case ("content", .string(let s)) where s.isEmpty: continue
            case ("reasoning_content", .string(let s)) where s.isEmpty: continue
            default: return false
            }
        }
        return true
    }

    private mutating func applyReasoning(_ index: Int64, delta: inout JSONObject) {
        switch reasoning {
        case .passthrough:
            return
        case .drop:
            delta["reasoning_content"] = nil
        case .inline:
            let thought = delta.removeValue(forKey: "reasoning_content")?.stringValue ?? ""
            let content = delta["content"]?.stringValue ?? ""
            var text = ""
            if !thought.isEmpty {
                if openThinkTags.insert(index).inserted { text += "<think>" }
                text += thought
            }
            if !content.isEmpty, openThinkTags.remove(index) != nil { text += "</think>" }
            text += content
            if !text.isEmpty { delta["content"] = .string(text) }
        }
    }

    private mutating func closeThinkTag(_ index: Int64, delta: inout JSONObject) {
        guard openThinkTags.remove(index) != nil else { return }
        delta["content"] = .string((delta["content"]?.stringValue ?? "") + "</think>")
    }

    /// Tool-call deltas carry `index`; the first fragment of a call carries id/type/name
    /// (docs/protocols/openai-chat.md).
    private mutating func indexToolCall(_ call: JSONObject, choice: Int64) -> JSONObject {
        var call = call
        let known = toolCallCounts[choice] ?? 0
        if let index = call["index"]?.intValue {
            toolCallCounts[choice] = max(known, index + 1)
        } else if call["id"]?.stringValue != nil {
            call["index"] = .int(known)
            toolCallCounts[choice] = known + 1
        } else {
            call["index"] = .int(max(known - 1, 0))
        }
        if call["id"]?.stringValue != nil && call["type"] == nil { call["type"] = "function" }
        return call
    }
}

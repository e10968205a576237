import NIOCore
import OpenAIWire

/// How a dialect writes a streamed answer: the stream relay feeds it the upstream's
/// chunks and writes what it produces (docs/architecture.md, "The walk of one request").
package protocol ChatStreamEncoder: Sendable {
    /// Something was written already: from now on a failure is an in-stream error event.
    var hasOutput: Bool { get }
    /// The usage the client was told (OpenAI field names), for the access log.
    var reportedUsage: JSONObject { get }
    /// The upstream counted nothing: `reportedUsage` is the estimate.
    var usageIsEstimated: Bool { get }
    mutating func accept(_ chunk: JSONObject, into out: inout ByteBuffer)
    /// The same as `accept(delta.object, into:)`, only cheaper.
    mutating func accept(_ delta: TextDeltaChunk, into out: inout ByteBuffer)
    mutating func accept(events: [ChatEvent], into out: inout ByteBuffer)
    /// The upstream ended; `complete` says whether it ended properly. Throws for a
    /// stream that was cut or empty: the relay turns that into the error event.
    mutating func finish(complete: Bool, into out: inout ByteBuffer) throws(GatewayError)
    /// A failure after the stream started, in the dialect's in-stream form.
    func writeError(_ error: GatewayError, into out: inout ByteBuffer)
    /// What is written while the upstream is silent.
    static var keepAlive: ByteBuffer { get }
}

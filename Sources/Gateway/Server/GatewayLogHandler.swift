import Logging

/// swift-log's `StreamLogHandler` renders its metadata to text on every change, and
/// Hummingbird (and AsyncHTTPClient) set metadata on every request, so that cost was
/// paid per request even with nothing logged. This one keeps the metadata as it is
/// and hands it to a `StreamLogHandler` (standard error) only for a line it writes.
public struct GatewayLogHandler: LogHandler {
    private var output: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    public init(label: String) {
        output = StreamLogHandler.standardError(label: label, metadataProvider: nil)
    }

    /// Writing to `stream` instead (the tests read what was written).
    init(label: String, stream: any TextOutputStream & Sendable) {
        output = StreamLogHandler(label: label, stream: stream, metadataProvider: nil)
    }

    public var logLevel: Logger.Level {
        get { output.logLevel }
        set { output.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        output.log(event: event)
    }
}

import Foundation
import Logging
import OpenAIWire

/// How log lines look: swift-log's text, or one JSON object a line for log collectors.
package enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

/// swift-log's `StreamLogHandler` renders its metadata to text on every change, and
/// Hummingbird sets metadata on every request, so that cost was
/// paid per request even with nothing logged. This one keeps the metadata as it is
/// and renders it only for a line it writes: as text (through a `StreamLogHandler`,
/// standard error) or as one JSON object a line.
package struct GatewayLogHandler: LogHandler {
    private var output: StreamLogHandler
    private let format: LogFormat
    private let stream: any TextOutputStream & Sendable
    private let label: String
    package var metadata: Logger.Metadata = [:]

    package init(label: String, format: LogFormat = .text) {
        self.init(label: label, stream: StandardErrorLines(), format: format)
    }

    /// Writing to `stream` instead (the tests read what was written).
    init(label: String, stream: any TextOutputStream & Sendable, format: LogFormat = .text) {
        self.label = label
        self.format = format
        self.stream = stream
        output = StreamLogHandler(label: label, stream: stream, metadataProvider: nil)
    }

    package var logLevel: Logger.Level {
        get { output.logLevel }
        set { output.logLevel = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        switch format {
        case .text: output.log(event: event)
        case .json: writeJSON(event)
        }
    }

    private func writeJSON(_ event: LogEvent) {
        var line: JSONObject = [
            "time": .string(Date().formatted(.iso8601)), "level": .string(event.level.rawValue),
            "logger": .string(label), "message": .string(event.message.description),
        ]
        for (key, value) in event.metadata ?? [:] { line[key] = Self.json(value) }
        var text = JSONCoding.string(.object(line))
        text += "\n"
        var stream = self.stream
        stream.write(text)
    }

    private static func json(_ value: Logger.MetadataValue) -> JSON {
        switch value {
        case .string(let text): return .string(text)
        case .stringConvertible(let value): return .string(value.description)
        case .array(let values): return .array(values.map(json))
        case .dictionary(let values): return .object(JSONObject(values.mapValues(json)))
        }
    }
}

/// Standard error, one write per line (lines from several threads do not interleave).
struct StandardErrorLines: TextOutputStream, Sendable {
    func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

import NIOHTTP1
import Synchronization

/// Rate-limit headers an upstream sent (`x-ratelimit-*`), which the client should see
/// too: OpenAI-compatible clients pace themselves by them. The route sets a collector
/// for the request; the provider records into it.
package final class UpstreamHeaders: Sendable {
    @TaskLocal package static var current: UpstreamHeaders?

    private let fields = Mutex<[(String, String)]>([])

    package init() {}

    package func record(_ headers: HTTPHeaders) {
        let kept = headers.filter { Self.isRateLimit($0.name) }.map { ($0.name.lowercased(), $0.value) }
        if !kept.isEmpty { fields.withLock { $0 = kept } }
    }

    package var recorded: [(String, String)] { fields.withLock { $0 } }

    static func isRateLimit(_ name: String) -> Bool {
        name.utf8.count > 12 && name.utf8.prefix(12).elementsEqual("x-ratelimit-".utf8) { $0 | 0x20 == $1 | 0x20 }
    }
}

import Foundation
import Synchronization

/// The last chat requests, for the console (docs/configuration.md, "Usage"): a fixed ring in
/// memory, newest first when read. Names, never keys or texts.
final class RecentRequests: Sendable {
    struct Entry: Sendable, Equatable {
        var time: Date
        var clientKey: String
        var model: String
        var provider: String
        var account: String
        var status: Int
        var promptTokens: Int
        var completionTokens: Int
        var milliseconds: Double
    }

    static let capacity = 100

    private struct Ring {
        var entries: [Entry] = []
        var next = 0
    }

    private let ring = Mutex(Ring())

    func add(_ entry: Entry) {
        ring.withLock { ring in
            if ring.entries.count < Self.capacity {
                ring.entries.append(entry)
            } else {
                ring.entries[ring.next] = entry
            }
            ring.next = (ring.next + 1) % Self.capacity
        }
    }

    /// Newest first.
    var entries: [Entry] {
        ring.withLock { ring in
            let split = ring.entries.count < Self.capacity ? ring.entries.count : ring.next
            return Array((ring.entries[split...] + ring.entries[..<split]).reversed())
        }
    }
}

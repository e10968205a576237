import OpenAIWire
import Synchronization

/// The streams being relayed now, so a shutdown can end them properly (docs/security.md):
/// when the grace period is over, each gets an error event and `[DONE]` instead of a cut.
package final class OpenStreams: Sendable {
    private let relays = Mutex<[ObjectIdentifier: any RelayedStream]>([:])

    package init() {}

    func opened(_ relay: any RelayedStream) {
        relays.withLock { $0[ObjectIdentifier(relay)] = relay }
    }

    func closed(_ relay: any RelayedStream) {
        _ = relays.withLock { $0.removeValue(forKey: ObjectIdentifier(relay)) }
    }

    package var count: Int { relays.withLock { $0.count } }

    /// Ends every open stream with `error`; returns how many there were.
    @discardableResult
    package func abortAll(with error: GatewayError) -> Int {
        let open = relays.withLock { relays in
            defer { relays.removeAll() }
            return Array(relays.values)
        }
        for relay in open { relay.abort(with: error) }
        return open.count
    }
}

import Foundation
import HummingbirdCore
import Logging
import Synchronization

/// Keeps the server below its descriptor limit (docs/security.md). At the limit, NIO's
/// accept loop spins on EMFILE at full CPU while nothing is served; instead, client
/// connections stop being accepted before that (each may need an upstream connection
/// too, hence half of what is left after a reserve), and accepting resumes as soon as
/// one closes. The first time, one warning says what to raise.
struct ConnectionLimit: AvailableConnectionsDelegate {
    let maximum: Int
    let descriptorLimit: Int
    private var open = 0
    private let logger: Logger
    private let warned = Flag()

    init(descriptorLimit: Int, logger: Logger) {
        self.descriptorLimit = descriptorLimit
        // Kept for the listener, files and upstream connections beyond one per client.
        let reserve = min(64, descriptorLimit / 4)
        self.maximum = max(1, (descriptorLimit - reserve) / 2)
        self.logger = logger
    }

    /// The soft RLIMIT_NOFILE of this process.
    static func currentDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: min(limit.rlim_cur, 1 << 30))
    }

    mutating func connectionOpened() { open += 1 }
    mutating func connectionClosed() { open -= 1 }

    func isAcceptingNewConnections() -> Bool {
        guard open >= maximum else { return true }
        if !warned.set() {
            logger.warning(
                "\(open) client connections open: not accepting more until one closes (descriptor limit \(descriptorLimit); raise it with ulimit -n or LimitNOFILE)"
            )
        }
        return false
    }
}

/// Set once; says whether it was set before.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() -> Bool { value.exchange(true, ordering: .relaxed) }
}

import DequeModule

extension AccountQueue {
    /// The queue's rules, apart from the waiting: at most `limit` (≥ 1) requests in flight,
    /// then a FIFO line of at most `maxWaiting`. (An unlimited queue never gets here.) Pure, so every
    /// interleaving can be tested without tasks or clocks.
    struct StateMachine: Sendable {
        enum AcquireResult: Equatable {
            case granted
            case queued
            case rejected
        }

        let limit: Int
        let maxWaiting: Int
        private(set) var inFlight = 0
        private(set) var waiting: Deque<Int> = []

        init(limit: Int, maxWaiting: Int) {
            self.limit = limit
            self.maxWaiting = maxWaiting
        }

        mutating func acquire(_ id: Int) -> AcquireResult {
            if inFlight < limit && waiting.isEmpty {
                inFlight += 1
                return .granted
            }
            guard waiting.count < maxWaiting else { return .rejected }
            waiting.append(id)
            return .queued
        }

        /// A request finished. Returns the waiter that now holds its slot, if any.
        mutating func release() -> Int? {
            if limit != 0, let next = waiting.popFirst() {
                return next
            }
            inFlight = max(inFlight - 1, 0)
            return nil
        }

        /// A waiter gave up (timeout or client gone). False when it was not waiting any more.
        mutating func abandon(_ id: Int) -> Bool {
            guard let index = waiting.firstIndex(of: id) else { return false }
            waiting.remove(at: index)
            return true
        }
    }
}

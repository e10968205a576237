import Synchronization
import Testing

@testable import Providers

@Suite struct SingleFlightTests {
    @Test func concurrentCallersShareOneRunAndLaterOnesStartAfresh() async throws {
        let flight = SingleFlight<Int>()
        let runs = Counter()
        let entered = Counter()
        let gate = AsyncStream<Void>.makeStream()
        let operation: @Sendable () async throws -> Int = {
            let run = runs.increment()
            for await _ in gate.stream {}  // held until the test opens the gate (for good: no hang)
            return run
        }
        var callers: [Task<Int, any Error>] = []
        for _ in 0..<5 {
            callers.append(
                Task {
                    entered.increment()
                    return try await flight.run(operation)
                })
        }
        // Every caller is in (the run cannot end before the gate opens), so all share run 1.
        while entered.value < 5 || runs.value == 0 { await Task.yield() }
        for _ in 0..<20 { await Task.yield() }
        gate.continuation.finish()
        var results: [Int] = []
        for caller in callers { results.append(try await caller.value) }
        #expect(results == [1, 1, 1, 1, 1], "one run for all of them")
        #expect(try await flight.run(operation) == 2, "a caller after the run ended starts a new one")
    }

    @Test func aFailureReachesEveryWaiterAndIsNotKept() async {
        struct Refused: Error {}
        let flight = SingleFlight<Int>()
        await #expect(throws: Refused.self) { try await flight.run { throw Refused() } }
        #expect((try? await flight.run { 7 }) == 7)
    }
}

private final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }

    @discardableResult
    func increment() -> Int { count.withLock { $0 += 1; return $0 } }
}

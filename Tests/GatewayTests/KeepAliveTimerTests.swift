import NIOPosix
import Synchronization
import Testing

@testable import Gateway

/// The stream's keep-alive timer: it fires only after a whole interval of silence, again
/// after each further interval, and never once cancelled.
@Suite struct KeepAliveTimerTests {
    @Test func firesAfterSilenceOnlyAndStopsWhenCancelled() async throws {
        let fired = Mutex(0)
        let timer = KeepAliveTimer(interval: .milliseconds(300), on: MultiThreadedEventLoopGroup.singleton.next()) {
            fired.withLock { $0 += 1 }
        }
        // Activity every 20 ms: never silent for an interval.
        for _ in 0..<20 {
            timer.activity()
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(fired.withLock { $0 } == 0)
        // Silent: once per interval (at about 300, 600 and 900 ms).
        try await Task.sleep(for: .milliseconds(1000))
        let count = fired.withLock { $0 }
        #expect((2...4).contains(count), "\(count)")
        timer.cancel()
        let atCancel = fired.withLock { $0 }
        try await Task.sleep(for: .milliseconds(700))
        #expect(fired.withLock { $0 } == atCancel)
    }
}

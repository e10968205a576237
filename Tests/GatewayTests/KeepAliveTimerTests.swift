import NIOEmbedded
import Synchronization
import Testing

@testable import Gateway

/// The stream's keep-alive timer, on an embedded event loop whose time the test moves: it fires
/// only after a whole interval of silence, again after each further interval, and never once
/// cancelled.
@Suite struct KeepAliveTimerTests {
    @Test func firesAfterSilenceOnlyAndStopsWhenCancelled() {
        let loop = EmbeddedEventLoop()
        let fired = Mutex(0)
        let timer = KeepAliveTimer(interval: .milliseconds(300), on: loop) { fired.withLock { $0 += 1 } }
        // Activity every 20 ms for 400 ms: never silent for an interval.
        for _ in 0..<20 {
            loop.advanceTime(by: .milliseconds(20))
            timer.activity()
        }
        loop.advanceTime(by: .milliseconds(299))
        #expect(fired.withLock { $0 } == 0)
        // 300 ms after the last activity, then every 300 ms.
        loop.advanceTime(by: .milliseconds(1))
        #expect(fired.withLock { $0 } == 1)
        loop.advanceTime(by: .milliseconds(600))
        #expect(fired.withLock { $0 } == 3)
        timer.activity()
        loop.advanceTime(by: .milliseconds(299))
        #expect(fired.withLock { $0 } == 3)
        timer.cancel()
        loop.advanceTime(by: .seconds(5))
        #expect(fired.withLock { $0 } == 3)
    }
}

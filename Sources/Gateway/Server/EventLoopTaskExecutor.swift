import NIOCore

/// Runs Swift tasks on one NIO event loop. A connection's handler prefers the
/// event loop of its own channel, so reading the request, calling the upstream
/// (the upstream client picks a connection on the caller's event loop) and writing the
/// answer all happen on one thread, without a hop to the global executor and back
/// for every await. The thread hops were most of flowgate's added latency.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

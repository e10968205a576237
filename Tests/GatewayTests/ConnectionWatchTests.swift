import NIOCore
import NIOEmbedded
import Testing

@testable import Gateway

@Suite struct ConnectionWatchTests {
    static func handler(_ watch: ConnectionWatch) -> HTTPConnectionHandler {
        HTTPConnectionHandler(
            bodyLimit: 1024, idleTimeout: nil, deadline: RequestReadDeadline(timeout: .seconds(60)), watch: watch)
    }

    func startSlowRequest(_ watch: ConnectionWatch, on channel: EmbeddedChannel) -> Task<Bool, Never> {
        Task {
            do {
                try await watch.run(on: channel) { try await Task.sleep(for: .seconds(30)) }
                return false
            } catch {
                return error is CancellationError
            }
        }
    }

    func waitUntilWatched(_ watch: ConnectionWatch) async {
        while watch.watchedConnections == 0 { await Task.yield() }
    }

    @Test func clientHalfCloseCancelsTheRequestInProgress() async throws {
        let watch = ConnectionWatch()
        let channel = EmbeddedChannel(handler: Self.handler(watch))
        try await channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).get()
        let request = startSlowRequest(watch, on: channel)
        await waitUntilWatched(watch)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(await request.value, "cancelled")
        _ = try? channel.finish()
        #expect(watch.watchedConnections == 0)
    }

    @Test func connectionEndCancelsAndForgetsTheConnection() async throws {
        let watch = ConnectionWatch()
        let channel = EmbeddedChannel(handler: Self.handler(watch))
        try await channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).get()
        let request = startSlowRequest(watch, on: channel)
        await waitUntilWatched(watch)
        try await channel.close().get()
        #expect(await request.value, "cancelled")
        #expect(watch.watchedConnections == 0)
    }

    @Test func finishedRequestsLeaveTheConnectionReusable() async throws {
        let watch = ConnectionWatch()
        let channel = EmbeddedChannel(handler: Self.handler(watch))
        try await channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).get()
        for i in 0..<100 {
            let value = try await watch.run(on: channel) { i }
            #expect(value == i)
        }
        #expect(watch.watchedConnections == 1, "one entry per connection, not per request")
        try await channel.close().get()
        #expect(watch.watchedConnections == 0)
    }
}

import Hummingbird
import HummingbirdCore
import HummingbirdTesting
import NIOCore
import Testing

@testable import Gateway

/// The request path stays on the connection's event loop, also after an await
/// (that is what spares the thread hops; AsyncHTTPClient then picks the same loop).
@Suite struct EventLoopBoundChannelTests {
    @Test func handlersRunOnTheirConnectionsEventLoop() async throws {
        let router = Router(context: GatewayRequestContext.self)
        router.get("/where") { _, context -> String in
            let before = context.channel.eventLoop.inEventLoop
            try await Task.sleep(for: .milliseconds(5))
            let after = context.channel.eventLoop.inEventLoop
            return "\(before) \(after)"
        }
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in EventLoopBoundChannel(inner: HTTP1Channel(responder: responder)) },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            for _ in 0..<3 {
                let response = try await client.execute(uri: "/where", method: .get)
                #expect(String(buffer: response.body) == "true true")
            }
        }
    }

    @Test func executorRunsJobsOnItsLoop() async throws {
        let loop = NIOSingletons.posixEventLoopGroup.next()
        let onLoop = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            try? await Task.sleep(for: .milliseconds(1))
            return loop.inEventLoop
        }
        #expect(onLoop)
    }
}

import Hummingbird
import HummingbirdCore
import HummingbirdTesting
import Dialects
import NIOCore
import NIOPosix
import Providers
import Synchronization
import Testing
import UpstreamHTTP

@testable import Gateway

/// The request path stays on the connection's event loop, also after an await
/// (that is what spares the thread hops; AsyncHTTPClient then picks the same loop).
@Suite struct EventLoopTaskExecutorTests {
    @Test func handlersRunOnTheirConnectionsEventLoop() async throws {
        let router = Router(context: GatewayRequestContext.self)
        router.get("/where") { _, context -> String in
            let before = context.channel.eventLoop.inEventLoop
            try await Task.sleep(for: .milliseconds(5))
            let after = context.channel.eventLoop.inEventLoop
            return "\(before) \(after)"
        }
        let responder = router.buildResponder()
        let app = Application(
            router: router,
            server: HTTPServerBuilder { _ in
                GatewayHTTPChannel(responder: responder, watch: ConnectionWatch(), bodyLimit: 1 << 20)
            },
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

    /// A stream's producer reads the upstream on the loop that started it: handing each read to
    /// the writer (on that loop too) then wakes no other thread.
    @Test func aStreamsProducerRunsOnTheLoopThatStartedIt() async throws {
        let loop = NIOSingletons.posixEventLoopGroup.next()
        let onLoop = Mutex<[Bool]>([])
        let decoder = SSEChunkDecoder { _ in onLoop.withLock { $0.append(loop.inEventLoop) } }
        let text = #"data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}"# + "\n\ndata: [DONE]\n\n"
        let relay = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            StreamRelay(
                chunks: ChunkStream(body: .bytes(ByteBuffer(string: text)), decoder: decoder),
                encoder: ChatStreamNormalizer(model: "m", includeUsage: false, reasoning: .passthrough, created: 1),
                keepAlive: nil, providerName: "test", onEnd: {})
        }
        var output = ""
        for try await event in relay.events {
            if case .bytes(let bytes) = event {
                output += String(buffer: bytes)
                relay.delivered()
            }
        }
        #expect(onLoop.withLock { $0 } == [true])
        #expect(output.contains(#""content":"hi""#) && output.hasSuffix("data: [DONE]\n\n"))
    }

    @Test func glibcMallocFunctionsAreFound() {
        #expect(FreeMemory.isAvailable, "glibc's malloc_trim, looked up at run time")
        FreeMemory.returnToSystem()
        // mallopt answers 1 when it took the setting; this process's arenas stay within it.
        #expect(GlibcMalloc.option?(GlibcMalloc.arenaMax, Int32(System.coreCount)) == 1)
    }
}

import NIOCore
import NIOEmbedded
import Testing

@testable import Gateway

@Suite struct FlushCoalescingHandlerTests {
    @Test func flushesOfOneTickLeaveTogether() throws {
        let channel = EmbeddedChannel(handler: FlushCoalescingHandler())
        defer { _ = try? channel.finish() }
        channel.write(ByteBuffer(string: "POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n"), promise: nil)
        channel.flush()
        channel.write(ByteBuffer(string: "{}"), promise: nil)
        channel.flush()
        // Nothing has reached the socket yet: the flush waits for the end of the tick.
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.run()
        #expect(
            try channel.readOutbound(as: ByteBuffer.self)
                == ByteBuffer(string: "POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "{}"))
        // A later write is flushed again.
        channel.writeAndFlush(ByteBuffer(string: "next"), promise: nil)
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "next"))
    }
}

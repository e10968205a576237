import Logging
import Synchronization
import Testing

@testable import Gateway

@Suite struct GatewayLogHandlerTests {
    final class Lines: TextOutputStream, Sendable {
        let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
    }

    @Test func metadataIsWrittenWithTheLineAndExplicitValuesWin() {
        let lines = Lines()
        var logger = Logger(label: "flowgate") { GatewayLogHandler(label: $0, stream: lines) }
        logger[metadataKey: "hb.request.id"] = "r-1"
        logger[metadataKey: "kept"] = "yes"
        logger.info("hello", metadata: ["kept": "explicit"])
        logger.debug("below the level")
        let text = lines.text.withLock { $0 }
        #expect(text.contains("info flowgate: hb.request.id=r-1 kept=explicit [GatewayTests] hello"))
        #expect(!text.contains("below the level"))
        #expect(logger[metadataKey: "hb.request.id"] == "r-1")
    }
}

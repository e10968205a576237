import Foundation
import Hummingbird
import Mocks

// The mock upstreams as a process, for the conformance suite that drives the
// built flowgate binary with the official openai SDK. Prints its port.
let iflow = MockIFlow(apiKey: ProcessInfo.processInfo.environment["MOCK_IFLOW_KEY"] ?? "sk-mock-iflow-key")
let router = Router()
iflow.addRoutes(to: router)
let port = Int(ProcessInfo.processInfo.environment["MOCK_PORT"] ?? "0") ?? 0
let app = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
    onServerRunning: { channel in
        FileHandle.standardOutput.write(Data("MOCK_PORT=\(channel.localAddress?.port ?? 0)\n".utf8))
    })
try await app.runService()

import Foundation
import Hummingbird
import Mocks

// The mock upstreams as a process, for the conformance suite that drives the
// built flowgate binary with the official openai SDK. Prints its port.
// iFlow at /v1, Flowith at /flowith (token MOCK_FLOWITH_TOKEN), a generic OpenAI upstream at /openai/v1,
// iFlow's OAuth server at /oauth, /oauth/token and /api/oauth/getUserInfo.
let environment = ProcessInfo.processInfo.environment
// A second iFlow key for the account-pool tests; `POST /_mock/iflow/fail` makes one key fail.
let iflow = MockIFlow(apiKey: environment["MOCK_IFLOW_KEY"] ?? "sk-mock-iflow-key", more: ["sk-mock-iflow-key-2"])
let flowith = MockFlowith(validTokens: [environment["MOCK_FLOWITH_TOKEN"] ?? "flowith-token"])
let openai = MockOpenAI(apiKey: environment["MOCK_OPENAI_KEY"] ?? "sk-generic")
let oauth = MockIFlowOAuth()
let router = Router()
iflow.addRoutes(to: router)
flowith.addRoutes(to: router)
openai.addRoutes(to: router)
oauth.addRoutes(to: router)
let port = Int(environment["MOCK_PORT"] ?? "0") ?? 0
let app = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
    onServerRunning: { channel in
        FileHandle.standardOutput.write(Data("MOCK_PORT=\(channel.localAddress?.port ?? 0)\n".utf8))
    })
try await app.runService()

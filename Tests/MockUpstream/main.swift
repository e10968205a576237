import Foundation
import Hummingbird
import Mocks

// The mock upstreams as a process, for the conformance suite that drives the
// built flowgate binary with the official openai SDK. Prints its port.
// iFlow at /v1, Flowith at /flowith (token MOCK_FLOWITH_TOKEN), a generic OpenAI upstream at /openai/v1,
// iFlow's OAuth server at /oauth, /oauth/token and /api/oauth/getUserInfo.
let environment = ProcessInfo.processInfo.environment
// A second iFlow key for the account-pool tests; `POST /_mock/iflow/fail` makes one key fail.
// MOCK_IFLOW_MORE_KEYS (comma-separated) adds keys, such as the ones the OAuth mock's sign-ins get.
let moreKeys = ["sk-mock-iflow-key-2"] + (environment["MOCK_IFLOW_MORE_KEYS"] ?? "").split(separator: ",").map(String.init)
let iflow = MockIFlow(apiKey: environment["MOCK_IFLOW_KEY"] ?? "sk-mock-iflow-key", more: moreKeys)
let flowith = MockFlowith(validTokens: [environment["MOCK_FLOWITH_TOKEN"] ?? "flowith-token"])
let openai = MockOpenAI(apiKey: environment["MOCK_OPENAI_KEY"] ?? "sk-generic")
// MOCK_OAUTH_SIGNIN_EXPIRES_IN: seconds a sign-in's token lives (within a day, flowgate refreshes
// it at once); MOCK_OAUTH_REFRESH_DELAY_MS: how long a refresh takes.
let oauth = MockIFlowOAuth(
    signInExpiresIn: environment["MOCK_OAUTH_SIGNIN_EXPIRES_IN"].flatMap { Int($0) },
    refreshDelay: .milliseconds(Int(environment["MOCK_OAUTH_REFRESH_DELAY_MS"] ?? "") ?? 0))
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

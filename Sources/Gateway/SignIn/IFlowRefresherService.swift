import Providers
import ServiceLifecycle

/// Runs the iFlow sign-in refresher for as long as the server runs (docs/protocols/iflow.md).
struct IFlowRefresherService: Service {
    let refresher: IFlowTokenRefresher

    func run() async throws {
        await cancelWhenGracefulShutdown { await refresher.run() }
    }
}

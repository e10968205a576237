import Hummingbird
import NIOCore

/// The request context: Hummingbird's basics plus the client's connection, so a
/// handler can notice when the client goes away.
package struct GatewayRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    let channel: any Channel

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

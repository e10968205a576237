import Hummingbird
import NIOCore

/// The request context: Hummingbird's basics plus the client's connection, so a
/// handler can notice when the client goes away.
package struct GatewayRequestContext: ClientKeyContext {
    package var coreContext: CoreRequestContextStorage
    let channel: any Channel
    var clientKeyName: String?

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

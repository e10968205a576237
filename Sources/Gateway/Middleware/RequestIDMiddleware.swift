import HTTPTypes
import Hummingbird
import Synchronization

/// Every answer carries `x-request-id` (the client's own when it sent a sensible one,
/// else a new one), and every log line about the request carries the same id.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    let ids = RequestIDs()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let id = RequestIDs.accepted(request.headers[RequestIDs.header]) ?? ids.next()
        var context = context
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[RequestIDs.header] = id
        return response
    }
}

/// New ids: a random prefix per process and a counter (unique, and no syscall per request).
final class RequestIDs: Sendable {
    static let header = HTTPField.Name("x-request-id")!
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    init() {
        prefix = "req_" + String(UInt32.random(in: .min ... .max), radix: 16)
    }

    func next() -> String {
        prefix + "_" + String(counter.add(1, ordering: .relaxed).newValue, radix: 16)
    }

    /// A client's id is kept when it is short and plain (it goes into logs as it is).
    static func accepted(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count) else { return nil }
        let plain = value.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: ":")
        }
        return plain ? value : nil
    }
}

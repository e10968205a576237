import Hummingbird
import NIOCore
import OpenAIWire

/// Reads a request body up to the configured limit and parses it as JSON, large ones
/// through the gate (docs/security.md); every dialect's route reads its body this way.
struct JSONBodyReader: Sendable {
    let limit: Int
    let largeBodies = LargeBodyGate()

    func read<T>(_ body: RequestBody, _ decode: @escaping (JSON) throws(GatewayError) -> T) async throws -> T {
        let bytes: ByteBuffer
        do {
            bytes = try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw GatewayError.bodyTooLarge(limit: limit)
        }
        return try await largeBodies.parse(bytes) { bytes throws(GatewayError) in
            guard bytes.readableBytes > 0 else { throw .invalidJSON("the body is empty") }
            let json: JSON
            do throws(JSONParser.Error) {
                json = try JSONCoding.decode(bytes)
            } catch {
                throw .invalidJSON(error.description)
            }
            return try decode(json)
        }
    }
}

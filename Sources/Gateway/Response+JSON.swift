import Hummingbird
import OpenAIWire

extension Response {
    /// A JSON answer; `headers` add to (or replace) the content type.
    static func json(_ value: JSON, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields: HTTPFields = [.contentType: "application/json"]
        for field in headers { fields[field.name] = field.value }
        return Response(
            status: status, headers: fields, body: .init(byteBuffer: JSONCoding.buffer(value)))
    }
}

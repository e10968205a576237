import HTTPTypes
import Providers

extension UpstreamHeaders {
    /// Onto the client's answer.
    func copy(into headers: inout HTTPFields) {
        for (name, value) in recorded {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
    }
}

import Foundation
import OpenAIWire

/// docs/protocols/flowith.md: the `models.json` mapping (client-facing name → Flowith's name). The
/// original's 17 entries ship as a resource; a user file extends or replaces them.
/// The same format serves as aliases for every provider.
package enum ModelMapping {
    package static func load(_ path: String) throws -> [(String, String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelListError(message: "Cannot read the model mapping \(path).")
        }
        return try parse(data, origin: path)
    }

    /// A JSON object of strings, in file order (the order models are listed in).
    static func parse(_ data: Data, origin: String) throws -> [(String, String)] {
        let json: JSON
        do {
            json = try JSONCoding.decode(data)
        } catch {
            throw ModelListError(message: "The model mapping \(origin) is not valid JSON: \(error)")
        }
        guard case .object(let object) = json else {
            throw ModelListError(message: "The model mapping \(origin) must be a JSON object of names.")
        }
        return try object.map { key, value in
            guard let target = value.stringValue else {
                throw ModelListError(message: "In \(origin), '\(key)' must map to a string.")
            }
            return (key, target)
        }
    }
}

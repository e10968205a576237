import Foundation

/// docs/protocols/iflow.md: the iFlow model list is data: the shipped `iflow-models.json`, or a
/// file of the same shape the user points `IFLOW_MODELS` at.
package struct IFlowModelList: Sendable, Equatable, Decodable {
    package var `default`: String?
    package var models: [String]

    package init(default: String?, models: [String]) {
        self.default = `default`
        self.models = models
    }

    package static func load(overridePath: String?) throws -> IFlowModelList {
        if let overridePath {
            guard let data = FileManager.default.contents(atPath: overridePath) else {
                throw ModelListError(message: "Cannot read the iFlow model list at \(overridePath).")
            }
            return try decode(data, origin: overridePath)
        }
        return shipped
    }

    package static let shipped: IFlowModelList = {
        guard let list = try? decode(Data(shippedJSON.utf8), origin: "the shipped iFlow model list") else {
            fatalError("flowgate's shipped iFlow model list is not valid JSON")  // caught by the tests
        }
        return list
    }()

    static func decode(_ data: Data, origin: String) throws -> IFlowModelList {
        do {
            return try JSONDecoder().decode(IFlowModelList.self, from: data)
        } catch {
            throw ModelListError(message: "The iFlow model list \(origin) is not valid: \(error)")
        }
    }
}

package struct ModelListError: Error, CustomStringConvertible, Sendable {
    package let message: String
    package var description: String { message }
}

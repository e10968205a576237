import Foundation

/// SPEC 4.1: the iFlow model list is data: the shipped `iflow-models.json`, or a
/// file of the same shape the user points `IFLOW_MODELS` at.
public struct IFlowModelList: Sendable, Equatable, Decodable {
    public var `default`: String?
    public var models: [String]

    public init(default: String?, models: [String]) {
        self.default = `default`
        self.models = models
    }

    public static func load(overridePath: String?) throws -> IFlowModelList {
        if let overridePath {
            guard let data = FileManager.default.contents(atPath: overridePath) else {
                throw ModelListError(message: "Cannot read the iFlow model list at \(overridePath).")
            }
            return try decode(data, origin: overridePath)
        }
        return shipped
    }

    public static let shipped: IFlowModelList = {
        guard let url = Bundle.module.url(forResource: "iflow-models", withExtension: "json"),
            let data = try? Data(contentsOf: url), let list = try? decode(data, origin: "iflow-models.json")
        else {
            // The resource is part of the package; without it the build itself is broken.
            fatalError("flowgate's bundled iflow-models.json is missing or invalid")
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

public struct ModelListError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

import Foundation
import Testing

@testable import Providers

@Suite struct ShippedModelsTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/Providers/Resources").standardized

    @Test func compiledListsMatchTheResourceFiles() throws {
        let iflow = try String(contentsOf: Self.resources.appendingPathComponent("iflow-models.json"), encoding: .utf8)
        let flowith = try String(
            contentsOf: Self.resources.appendingPathComponent("flowith-models.json"), encoding: .utf8)
        #expect(iflow.trimmingCharacters(in: .whitespacesAndNewlines) == IFlowModelList.shippedJSON)
        #expect(flowith.trimmingCharacters(in: .whitespacesAndNewlines) == FlowithShippedModels.json)
    }

    @Test func shippedListsAreTheSpecs() {
        #expect(IFlowModelList.shipped.default == "glm-4.7")
        #expect(IFlowModelList.shipped.models.count == 12)
        #expect(FlowithShippedModels.mapping.count == 17)
        #expect(FlowithShippedModels.mapping.allSatisfy { $0.0 == $0.1 })
    }
}

import Foundation
import Testing

@testable import Gateway

/// The configuration reference cannot drift from the keys the config file accepts.
@Suite struct DocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
        .standardized

    @Test func everyConfigKeyIsInTheReference() throws {
        let reference = try String(
            contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let missing = ConfigFile.Keys.all.filter { !reference.contains("`\($0)`") }.sorted()
        #expect(missing.isEmpty, "docs/configuration.md lacks: \(missing)")
    }
}

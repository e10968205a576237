import Foundation
import Testing

@testable import Providers

@Suite struct IFlowCredentialsTests {
    func temporarySettings(_ json: String) throws -> String {
        let path = NSTemporaryDirectory() + "flowgate-settings-\(UUID().uuidString).json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func readsApiKeyThenSearchApiKey() {
        #expect(IFlowCredentials.apiKey(fromSettings: Data(#"{"apiKey":"a","searchApiKey":"b"}"#.utf8)) == "a")
        #expect(IFlowCredentials.apiKey(fromSettings: Data(#"{"apiKey":"","searchApiKey":"b"}"#.utf8)) == "b")
        #expect(IFlowCredentials.apiKey(fromSettings: Data(#"{"selectedAuthType":"iflow"}"#.utf8)) == nil)
        #expect(IFlowCredentials.apiKey(fromSettings: Data("not json".utf8)) == nil)
    }

    @Test func environmentKeyWinsOverTheFile() throws {
        let path = try temporarySettings(#"{"apiKey":"from-file"}"#)
        #expect(IFlowCredentials(environmentKey: "from-env", settingsPath: path).currentKey() == "from-env")
        #expect(IFlowCredentials(environmentKey: "", settingsPath: path).currentKey() == "from-file")
    }

    @Test func missingFileMeansNoKey() {
        let credentials = IFlowCredentials(environmentKey: nil, settingsPath: "/nonexistent/settings.json")
        #expect(credentials.currentKey() == nil)
        #expect(credentials.source == .none)
    }

    @Test func fileChangesAreSeenWithoutRestart() async throws {
        let path = try temporarySettings(#"{"apiKey":"first"}"#)
        let credentials = IFlowCredentials(environmentKey: nil, settingsPath: path, checkInterval: .milliseconds(10))
        #expect(credentials.currentKey() == "first")
        try await Task.sleep(for: .milliseconds(1100))  // a new modification time, even on 1 s timestamps
        try Data(#"{"apiKey":"second","other":1}"#.utf8).write(to: URL(fileURLWithPath: path))
        try await Task.sleep(for: .milliseconds(20))
        #expect(credentials.currentKey() == "second")
    }
}

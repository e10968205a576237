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

    @Test func fileChangesAreSeenWithoutRestartButOnlyWhenLookedFor() throws {
        let path = try temporarySettings(#"{"apiKey":"first"}"#)
        let credentials = IFlowCredentials(environmentKey: nil, settingsPath: path)
        #expect(credentials.currentKey() == "first")
        try Data(#"{"apiKey":"second","other":1}"#.utf8).write(to: URL(fileURLWithPath: path))
        // A new modification time, even on file systems with 1 s timestamps.
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(10)], ofItemAtPath: path)
        // Requests and /health read the key in memory, never the file.
        #expect(credentials.currentKey() == "first")
        credentials.checkForChanges()
        #expect(credentials.currentKey() == "second")
        try FileManager.default.removeItem(atPath: path)
        credentials.checkForChanges()
        #expect(credentials.currentKey() == nil && credentials.source == .none)
    }
}

/// docs/security.md: the CLI's files are read with a size cap and written through symlinks.
@Suite struct IFlowCredentialFileSafetyTests {
    let directory = NSTemporaryDirectory() + "flowgate-files-\(UUID().uuidString)"

    @Test func aHugeSettingsFileIsNotRead() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/settings.json"
        let padding = String(repeating: " ", count: CredentialFileReader.maxBytes)
        try Data(("{\"apiKey\":\"sk-big\"" + padding + "}").utf8).write(to: URL(fileURLWithPath: path))
        #expect(IFlowCredentials(environmentKey: nil, settingsPath: path).currentKey() == nil)
        try Data("{\"apiKey\":\"sk-small\"}".utf8).write(to: URL(fileURLWithPath: path))
        #expect(IFlowCredentials(environmentKey: nil, settingsPath: path).currentKey() == "sk-small")
    }

    @Test func aSymlinkedSettingsFileStaysALink() throws {
        let real = directory + "/dotfiles"
        let home = directory + "/home/.iflow"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try Data("{\"theme\":\"dark\"}".utf8).write(to: URL(fileURLWithPath: real + "/settings.json"))
        try FileManager.default.createSymbolicLink(atPath: home + "/settings.json", withDestinationPath: "../../dotfiles/settings.json")
        try IFlowCredentialFiles.writeAtomically(["apiKey": "sk-new", "theme": "dark"], to: home + "/settings.json")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: home + "/settings.json") == "../../dotfiles/settings.json")
        let written = try String(contentsOfFile: real + "/settings.json", encoding: .utf8)
        #expect(written.contains("sk-new"))
        let mode = try FileManager.default.attributesOfItem(atPath: real + "/settings.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}

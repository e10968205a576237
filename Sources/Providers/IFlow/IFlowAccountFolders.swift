import Foundation
import OpenAIWire

/// Sign-ins through flowgate (`flowgate login iflow --name`, the console) keep one folder per
/// account, `{data dir}/accounts/iflow/{name}/`, holding `settings.json` and
/// `oauth_creds.json` in the CLI's format (docs/protocols/iflow.md, "Accounts").
package enum IFlowAccountFolders {
    /// Letters, digits, `-`, `_` and `.`, 1 to 40 of them, not starting with a dot: a folder name anywhere.
    package static func isValidName(_ name: String) -> Bool {
        !name.hasPrefix(".") && PlainName.isPlain(name, length: 1...40, also: "-_.")
    }

    package static func settingsPath(_ directory: String, _ name: String) -> String {
        "\(directory)/\(name)/settings.json"
    }

    /// The accounts whose folder holds a settings.json, sorted.
    static func names(in directory: String?) -> [String] {
        guard let directory, let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            return []
        }
        return entries.filter { isValidName($0) && FileManager.default.fileExists(atPath: settingsPath(directory, $0)) }
            .sorted()
    }

    static func remove(_ directory: String, _ name: String) throws {
        guard isValidName(name) else { return }
        try FileManager.default.removeItem(atPath: "\(directory)/\(name)")
    }
}

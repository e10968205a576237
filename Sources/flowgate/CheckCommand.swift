import Foundation
import ArgumentParser
import Gateway

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration and credentials; exit non-zero when something is wrong.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let (usable, failing) = try await options.withModels { config, router in
            print("listen: http://\(config.host):\(config.port)")
            var usable = 0
            var failing: [String] = []
            for provider in router.providers {
                let status = provider.status()
                if status.state == .ok { usable += 1 }
                // Set up but not working (refused key, unreachable, sign-in lapsed); a provider
                // with no credentials at all is only a note.
                if status.state == .needsSignIn || status.state == .unreachable { failing.append(provider.name) }
                print(
                    "\(provider.name) (\(provider.kind)): \(status.state.rawValue), \(provider.modelIDs.count) models. \(status.detail)"
                )
                for expiry in status.tokenExpiries {
                    print("  token expires \(expiry.formatted(date: .abbreviated, time: .shortened)) (local time)")
                }
                if let tokenState = status.tokenState { print("  token: \(tokenState)") }
            }
            return (usable, failing)
        }
        if !failing.isEmpty {
            print("Not working: \(failing.joined(separator: ", ")).")
            throw ExitCode(1)
        }
        if usable == 0 {
            print("No provider has usable credentials.")
            throw ExitCode(1)
        }
    }
}

import ArgumentParser
import Gateway

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Print the merged model list, one line each: id, then provider.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let listing = try await options.withModels { _, router in router.listing() }
        if listing.isEmpty {
            print("No provider is configured; see `flowgate check`.")
            throw ExitCode(1)
        }
        let width = listing.map(\.id.count).max() ?? 0
        for entry in listing {
            print(entry.id.padding(toLength: width + 2, withPad: " ", startingAt: 0) + entry.ownedBy)
        }
    }
}

import ArgumentParser
import Gateway

@main
struct Flowgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowgate",
        abstract: "An OpenAI-compatible API in front of iFlow and other AI accounts.",
        version: FlowgateVersion.full,
        subcommands: [ServeCommand.self, ModelsCommand.self, CheckCommand.self, LoginCommand.self, HealthCommand.self],
        defaultSubcommand: ServeCommand.self)
}

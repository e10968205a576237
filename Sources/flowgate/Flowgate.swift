import ArgumentParser
import Dispatch
import Gateway
import NIOCore

struct Flowgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowgate",
        abstract: "An OpenAI-compatible API in front of iFlow and other AI accounts.",
        version: FlowgateVersion.full,
        subcommands: [ServeCommand.self, ModelsCommand.self, CheckCommand.self, LoginCommand.self, HealthCommand.self],
        defaultSubcommand: ServeCommand.self)
}

/// A synchronous `main`: the command's task runs on Swift's global executor while this thread
/// waits for it. Swift's async `main` would instead end the main thread with `pthread_exit`
/// (from `dispatch_main`), and glibc's unwinding of that thread's stack maps about 1 MB of the
/// binary's unwind tables for good (docs/performance.md, "Fewer resident pages after load").
/// Parsing, `--version`, `--help` and every exit happen on this thread.
@main
enum Main {
    static func main() {
        MallocArenas.limit(to: System.coreCount)
        let parsed: ParsableCommand
        do {
            parsed = try Flowgate.parseAsRoot()
        } catch {
            Flowgate.exit(withError: error)
        }
        guard let command = parsed as? AsyncParsableCommand else {
            var command = parsed
            do { try command.run() } catch { Flowgate.exit(withError: error) }
            return
        }
        let outcome = Outcome(command)
        let finished = DispatchSemaphore(value: 0)
        // Detached: a task made here would inherit the main actor, whose queue only
        // `dispatch_main` drains, and never start.
        Task.detached {
            await outcome.run()
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { Flowgate.exit(withError: error) }
    }

    /// The command and what its run threw. Only the task touches it until it signals the
    /// semaphore, and the main thread reads it only after the wait: the semaphore orders them.
    private final class Outcome: @unchecked Sendable {
        private var command: AsyncParsableCommand
        private(set) var error: Error?

        init(_ command: AsyncParsableCommand) { self.command = command }

        func run() async {
            do { try await command.run() } catch { self.error = error }
        }
    }
}

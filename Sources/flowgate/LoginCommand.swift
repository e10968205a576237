import ArgumentParser
import Foundation
import Gateway
import Hummingbird
import OpenAIWire
import Providers
import Stores
import Synchronization

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Sign in to an upstream account.", subcommands: [LoginIFlowCommand.self])
}

/// `flowgate login iflow` (docs/protocols/iflow.md): the browser sign-in from a terminal, with a
/// local callback listener on 11451 (or the next free port), or `--paste` for hosts
/// without a browser.
struct LoginIFlowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iflow",
        abstract: "Sign in to iFlow; writes ~/.iflow/settings.json and oauth_creds.json, or with --name the state store.")

    @OptionGroup var options: ServerOptions

    @Flag(help: "Only print the sign-in URL; do not try to open a browser.")
    var noBrowser = false

    @Flag(help: "Headless: sign in on any device, then paste the code iFlow shows.")
    var paste = false

    @Option(help: "Add (or renew) the account NAME instead of the iFlow CLI's own (`default`).")
    var name: String?

    @Option(help: "Seconds to wait for the sign-in to finish.")
    var timeout = 600

    func run() async throws {
        let config = try options.resolve()
        if let name, !IFlowAccountFolders.isValidName(name) {
            throw LoginError("An account name is 1 to 40 letters, digits, '-', '_' or '.', not starting with a dot.")
        }
        // The first iFlow provider's settings, else iFlow's defaults (paths expanded).
        var iflow = config.first(IFlowConfig.self) ?? IFlowConfig()
        try iflow.finish(home: NSHomeDirectory())
        let client = UpstreamHTTPClient.make(config: config)
        defer { client.shutdown() }
        let oauth = IFlowOAuth(baseURL: iflow.oauthURL, client: client)
        let state = IFlowOAuth.makeState()
        let (code, redirect): (String, String)
        if paste {
            let display = oauth.baseURL + "/oauth/code-display"
            say(
                "Open this URL on any device and sign in:\n\n  \(oauth.authorizeURL(redirect: display, state: state))\n\n"
            )
            say("Then paste the code iFlow shows: ")
            guard let line = readLine()?.trimmingCharacters(in: .whitespacesAndNewlines), !line.isEmpty else {
                throw LoginError("No code was entered.")
            }
            (code, redirect) = (line, display)
        } else {
            (code, redirect) = try await listenForCallback(oauth: oauth, state: state)
        }
        let signIn: IFlowOAuth.SignIn
        do {
            signIn = try await oauth.exchange(code: code, redirect: redirect)
        } catch {
            throw LoginError("iFlow did not complete the sign-in: \(error)")
        }
        let who = signIn.user["userName"] ?? signIn.user["phone"] ?? "your account"
        let place: String
        if let name, name != "default" {
            place = try await saveInStore(signIn, name: name, provider: iflow.name, config: config)
        } else {
            let files = IFlowCredentialFiles(settingsPath: iflow.settingsPath)
            try files.save(signIn)
            place = files.settingsPath
        }
        say("Signed in to iFlow as \(who). Key \(ProviderStatus.hint(signIn.apiKey)) saved to \(place).\n")
    }

    /// A named account goes into the state store, sealed; a running server picks it up within seconds.
    private func saveInStore(_ signIn: IFlowOAuth.SignIn, name: String, provider: String, config: GatewayConfig)
        async throws -> String
    {
        let store = try await ServeCommand.openStore(config: config, logger: try options.makeLogger())
        let creds = Data(JSONCoding.buffer(IFlowCredentialFiles.creds(signIn, over: [:])).readableBytesView)
        do {
            try await store.saveAccount(StoredAccount(provider: provider, name: name, credentials: creds, updated: Date()))
        } catch {
            await store.close()
            throw LoginError("The state store did not take the sign-in: \(error)")
        }
        await store.close()
        return "the \(store.kind) state store as account '\(name)'"
    }

    /// Serves `/oauth2callback` on 127.0.0.1 from port 11451 upward until iFlow sends the browser back.
    private func listenForCallback(oauth: IFlowOAuth, state: String) async throws -> (String, String) {
        guard let port = (11451..<11551).first(where: LocalPort.isFree) else {
            throw LoginError("No free port from 11451 to 11550 for the sign-in callback; try --paste.")
        }
        let redirect = "http://localhost:\(port)/oauth2callback"
        let received = AsyncStream<String>.makeStream()
        let router = Router()
        router.get("/oauth2callback") { request, _ -> Response in
            let query = request.uri.queryParameters
            let ok = query["state"].map(String.init) == state && query["code"] != nil
            if ok, let code = query["code"] { received.continuation.yield(String(code)) }
            let text =
                ok
                ? "Signed in. You can close this tab and return to the terminal."
                : "This sign-in link does not match; start again."
            return Response(
                status: ok ? .ok : .badRequest, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let url = oauth.authorizeURL(redirect: redirect, state: state)
        let openBrowser = !noBrowser
        // The URL is shown once the listener is up, so the browser cannot arrive too early.
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { _ in
                say(
                    "Sign in to iFlow in your browser:\n\n  \(url)\n\nWaiting for the sign-in (callback on port \(port))…\n"
                )
                if openBrowser { Browser.open(url) }
            })
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                try await app.runService(gracefulShutdownSignals: [])
                return nil
            }
            group.addTask {
                for await code in received.stream { return code }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
                throw LoginError("No sign-in within \(timeout) s.")
            }
            while let result = try await group.next() {
                if let code = result {
                    // Let the listener finish writing its page to the browser before it stops.
                    try? await Task.sleep(for: .milliseconds(500))
                    group.cancelAll()
                    return (code, redirect)
                }
            }
            throw LoginError("The callback listener stopped.")
        }
    }
}

/// Unbuffered, so a script or a person sees the URL at once even when stdout is a pipe.
private func say(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

enum Browser {
    /// Best effort: the URL is always printed too.
    static func open(_ url: String) {
        for opener in ["/usr/bin/xdg-open", "/usr/bin/open"] where FileManager.default.isExecutableFile(atPath: opener)
        {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: opener)
            process.arguments = [url]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            if (try? process.run()) != nil { return }
        }
    }
}

/// A failed sign-in: said plainly, without the usage text of a wrong command line.
struct LoginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum LocalPort {
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

import Hummingbird
import Logging
import Providers

/// `POST /admin/accounts` (docs/architecture.md, "Account pools"): the console's buttons that
/// disable, enable, clear the cooldown of, or remove an account. Like every console form it
/// needs loopback or the admin key, and the CSRF token, so no other web page can press them.
struct AccountActions: Sendable {
    static let path = "/admin/accounts"
    static let actions = ["disable", "enable", "clear_cooldown", "remove"]

    let live: LiveProviders
    let localOnly: LocalOnlyGuard
    let csrf: CSRFToken

    func respond(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try localOnly.check(request, context: context)
        let form = String(buffer: try await request.body.collect(upTo: 4096))
        guard csrf.matches(FormBody.field("csrf", inForm: form)) else {
            return HTML.messagePage(
                status: .forbidden, title: "Nothing changed", message: "Use the buttons on the console page.")
        }
        let providerName = FormBody.field("provider", inForm: form) ?? ""
        let name = FormBody.field("account", inForm: form) ?? ""
        let action = FormBody.field("action", inForm: form) ?? ""
        guard let provider = live.current.providers.first(where: { $0.name == providerName }) else {
            return HTML.messagePage(status: .notFound, title: "No such provider", message: "There is no provider '\(providerName)'.")
        }
        let accounts = provider.accounts
        let done: Bool
        switch action {
        case "disable": done = accounts.setDisabled(name, true)
        case "enable": done = accounts.setDisabled(name, false)
        case "clear_cooldown": done = accounts.clearCooldown(name)
        case "remove":
            do {
                try await provider.removeAccount(named: name)
                done = true
            } catch {
                return HTML.messagePage(status: .conflict, title: "Not removed", message: error.description)
            }
        default:
            return HTML.messagePage(
                status: .badRequest, title: "Nothing changed",
                message: "The action must be one of \(Self.actions.joined(separator: ", ")).")
        }
        guard done else {
            return HTML.messagePage(
                status: .notFound, title: "No such account", message: "\(providerName) has no account '\(name)'.")
        }
        context.logger.info("console: \(action) on \(providerName) account '\(name)'")
        return Response(status: .seeOther, headers: [.location: "/"])
    }
}

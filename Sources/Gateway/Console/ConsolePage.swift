import Foundation
import Hummingbird
import Providers

/// `GET /` (docs/protocols/openai-chat.md): provider and account state, key prefix, token expiry in local
/// time, the sign-in button, usage (docs/configuration.md, "Usage"), settings to copy into
/// clients, and the model list. Server-rendered, no scripts, nothing loaded from elsewhere.
struct ConsolePage: Sendable {
    let live: LiveProviders
    let localOnly: LocalOnlyGuard
    let clientKeysRequired: Bool
    let csrf: CSRFToken
    let usage: UsageSection

    func respond(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard localOnly.isLocal(request, context: context) || localOnly.presentsAdminKey(request) else {
            return Self.adminKeyPage(offered: localOnly.adminKey != nil, wrong: false)
        }
        let base = "http://\(request.head.authority ?? "127.0.0.1:8000")/v1"
        let html = HTML.page(title: "flowgate", body: render(baseURL: base, usage: await usage.render()))
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func render(baseURL: String, usage: String = "") -> String {
        let models = live.current.models
        var rows = ""
        var signIns = ""
        for provider in models.providers {
            let status = provider.status()
            let css = status.state == .ok ? "ok" : status.state == .unconfigured ? "warn" : "bad"
            let label = Self.label(status)
            if let offered = provider.signIn {
                // A POST with the CSRF token: no other page can start (or crowd out) a sign-in.
                let (label, note) =
                    status.state == .ok
                    ? ("Sign in with \(offered.title) again", " (another account, or a fresh sign-in)")
                    : ("Sign in with \(offered.title)", "")
                let id = signIns.isEmpty ? "sign-in" : "sign-in-\(HTML.escape(provider.name))"
                // A name adds (or renews) that account; none renews the main one.
                signIns +=
                    "<form method=\"post\" action=\"/login/\(HTML.escape(provider.name))\">"
                    + "<input type=\"hidden\" name=\"csrf\" value=\"\(csrf.value)\">"
                    + "<input name=\"account\" id=\"\(id)-account\" placeholder=\"account name (optional)\" "
                    + "pattern=\"[A-Za-z0-9_\\-][A-Za-z0-9_.\\-]{0,39}\"> "
                    + "<button class=\"button\" id=\"\(id)\">\(HTML.escape(label))</button>\(note)</form>"
            }
            let expiry = status.tokenExpiries.map { Self.localTime($0) }.joined(separator: "<br>")
            rows += """
                <tr><td><b>\(HTML.escape(provider.name))</b><br><small>\(HTML.escape(provider.kind))</small></td>
                <td class="\(css)">\(HTML.escape(label))</td><td>\(status.accounts)</td>
                <td><code>\(HTML.escape(status.keyHint ?? "—"))</code></td><td>\(expiry.isEmpty ? "—" : expiry)</td>
                <td><small>\(HTML.escape(status.detail))</small></td></tr>
                """
        }
        let modelList = models.listing().map {
            "<li><code>\(HTML.escape($0.id))</code> <small>\(HTML.escape($0.ownedBy))</small></li>"
        }
        .joined()
        let keyLine = clientKeysRequired ? "your API_KEY" : "any value (no client key is configured)"
        let model = models.listing().first?.id ?? "glm-4.7"
        return """
            <h1>flowgate \(HTML.escape(FlowgateVersion.current))</h1>
            <h2>Providers</h2>
            <table><tr><th>provider</th><th>state</th><th>accounts</th><th>key</th><th>token expiry</th><th>detail</th></tr>\(rows)</table>
            \(signIns)
            <h2>Accounts</h2>
            \(accountTable())
            \(usage)
            <h2>Client settings</h2>
            <p>Base URL <code>\(HTML.escape(baseURL))</code>, API key \(HTML.escape(keyLine)).</p>
            \(Self.clientSettings(baseURL: baseURL, model: model))
            <h2>Models</h2>
            <ul>\(modelList.isEmpty ? "<li>No provider has credentials yet.</li>" : modelList)</ul>
            """
    }

    /// Settings to copy into the clients people point at flowgate (the key stays a placeholder).
    static func clientSettings(baseURL: String, model: String) -> String {
        let root = baseURL.hasSuffix("/v1") ? String(baseURL.dropLast(3)) : baseURL
        let snippets = [
            (
                "curl", """
                curl \(baseURL)/chat/completions \\
                  -H 'Authorization: Bearer <key>' -H 'Content-Type: application/json' \\
                  -d '{"model":"\(model)","messages":[{"role":"user","content":"Hello"}]}'
                """
            ),
            (
                "OpenAI SDK (Python)", """
                from openai import OpenAI
                client = OpenAI(base_url="\(baseURL)", api_key="<key>")
                client.chat.completions.create(model="\(model)", messages=[{"role": "user", "content": "Hello"}])
                """
            ),
            (
                "Anthropic SDK (Python)", """
                from anthropic import Anthropic
                client = Anthropic(base_url="\(root)", api_key="<key>")
                client.messages.create(model="\(model)", max_tokens=1024, messages=[{"role": "user", "content": "Hello"}])
                """
            ),
            (
                "Claude Code", """
                ANTHROPIC_BASE_URL=\(root) ANTHROPIC_AUTH_TOKEN=<key> ANTHROPIC_MODEL=\(model) claude
                """
            ),
            (
                "Open WebUI", """
                Admin Settings → Connections → OpenAI API: URL \(baseURL), key <key>
                (from a container on this machine: http://host.docker.internal:<port>/v1)
                """
            ),
        ]
        return snippets.map { title, text in
            "<h3>\(HTML.escape(title))</h3><pre class=\"settings\">\(HTML.escape(text))</pre>"
        }.joined()
    }

    /// Every provider's accounts with their pool state, load and credentials, and the operator's
    /// buttons (docs/architecture.md, "Account pools"), each a POST with the CSRF token.
    func accountTable() -> String {
        var rows = ""
        for provider in live.current.providers {
            for account in provider.accounts.status() {
                let detail = provider.accountDetail(account.index)
                let css = account.state == "ok" ? "ok" : account.state == "cooling" ? "warn" : "bad"
                let until = account.coolingUntil.map { Self.localTime($0) } ?? "—"
                var buttons = [account.state == "disabled" ? ("enable", "Enable") : ("disable", "Disable")]
                if account.coolingUntil != nil { buttons.append(("clear_cooldown", "Clear cooldown")) }
                if detail.removable { buttons.append(("remove", "Remove")) }
                let forms = buttons.map { action, label in
                    let id = "\(action)-\(provider.name)-\(account.name)"
                    return "<form class=\"inline\" method=\"post\" action=\"\(AccountActions.path)\">"
                        + "<input type=\"hidden\" name=\"csrf\" value=\"\(csrf.value)\">"
                        + "<input type=\"hidden\" name=\"provider\" value=\"\(HTML.escape(provider.name))\">"
                        + "<input type=\"hidden\" name=\"account\" value=\"\(HTML.escape(account.name))\">"
                        + "<input type=\"hidden\" name=\"action\" value=\"\(action)\">"
                        + "<button class=\"button small\" id=\"\(HTML.escape(id))\">\(label)</button></form>"
                }
                rows += """
                    <tr id="account-\(HTML.escape(provider.name))-\(HTML.escape(account.name))"><td>\(HTML.escape(provider.name))</td>
                    <td><b>\(HTML.escape(account.name))</b><br><small>\(HTML.escape(detail.source ?? ""))</small></td>
                    <td class="\(css) state">\(HTML.escape(account.state))</td><td>\(until)</td>
                    <td>\(account.inFlight) / \(account.queued)</td><td><code>\(HTML.escape(detail.keyHint ?? "—"))</code></td>
                    <td>\(detail.tokenExpiry.map { Self.localTime($0) } ?? "—")</td><td>\(forms.joined(separator: " "))</td></tr>
                    """
            }
        }
        guard !rows.isEmpty else { return "<p>No accounts yet: sign in above, or configure a key.</p>" }
        return """
            <table><tr><th>provider</th><th>account</th><th>state</th><th>cooling until</th><th>in flight / queued</th><th>key</th><th>token expiry</th><th></th></tr>\(rows)</table>
            """
    }

    /// For a visitor from another machine: the admin-key form when a key is configured
    /// (Docker, Hugging Face Spaces), else how to open the console.
    static func adminKeyPage(offered: Bool, wrong: Bool) -> Response {
        let body =
            offered
            ? """
            <h1>flowgate console</h1>
            <p>This console opens on the server itself, or with the admin key (<code>FLOWGATE_ADMIN_KEY</code>).</p>
            \(wrong ? "<p class=\"bad\" id=\"wrong-key\">That is not the admin key.</p>" : "")
            <form method="post" action="/admin/login"><input type="password" name="key" id="admin-key" autocomplete="current-password" placeholder="admin key" required>
            <button class="button" id="open-console">Open the console</button></form>
            """
            : """
            <h1>flowgate console</h1>
            <p>This console opens only on the server itself. To open it from other machines, set
            <code>FLOWGATE_ADMIN_KEY</code> and come back.</p>
            """
        return Response(
            status: .forbidden, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: HTML.page(title: "flowgate", body: body))))
    }

    /// `POST /admin/login` (the form above): the right key sets an HttpOnly, SameSite=Strict
    /// cookie holding a digest of it, and goes to the console.
    func login(_ request: Request) async throws -> Response {
        let form = String(buffer: try await request.body.collect(upTo: 4096))
        let presented = FormBody.field("key", inForm: form)
        guard let adminKey = localOnly.adminKey, let presented,
            ClientKey.constantTimeEquals(Array(adminKey.utf8), presented.utf8)
        else {
            return Self.adminKeyPage(offered: localOnly.adminKey != nil, wrong: true)
        }
        let cookie =
            "\(LocalOnlyGuard.cookieName)=\(LocalOnlyGuard.session(for: adminKey)); HttpOnly; SameSite=Strict; Path=/"
        return Response(status: .seeOther, headers: [.location: "/", .setCookie: cookie])
    }

    static func label(_ status: ProviderStatus) -> String {
        switch status.state {
        case .ok:
            if let tokenState = status.tokenState { return tokenState }
            if let soonest = status.tokenExpiries.min(), soonest.timeIntervalSinceNow < 24 * 3600 {
                return soonest.timeIntervalSinceNow < 0 ? "expired" : "expiring"
            }
            return "ok"
        case .unconfigured: return "needs sign-in"
        case .needsSignIn: return "needs sign-in again"
        case .unreachable: return "unreachable"
        }
    }

    static func localTime(_ date: Date) -> String {
        "<time datetime=\"\(date.formatted(.iso8601))\">\(HTML.escape(date.formatted(date: .abbreviated, time: .shortened)))</time>"
    }
}

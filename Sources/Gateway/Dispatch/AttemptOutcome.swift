import OpenAIWire
import Providers

/// What the attempts of one request came to, and so the answer when none succeeded
/// (docs/architecture.md, "Account pools"): an upstream that failed is that failure as it was;
/// otherwise every account cooling is a 429 with the soonest recovery; an account the
/// upstream rejected, or none usable, is the operator's problem (503 naming the accounts),
/// never a 401 that would blame the client's key.
struct AttemptOutcome {
    var attempts = 0
    private var lastError: GatewayError?
    private var lastFault: AccountPool.Fault?
    private var lastAccount = ""
    private var coolingUntil: ContinuousClock.Instant?
    private var unusable: [String] = []

    mutating func refused(_ refusal: ProviderAccounts.Refusal, provider: any ChatProvider) {
        switch refusal {
        case .allCooling(let until): coolingUntil = min(coolingUntil ?? until, until)
        case .noneUsable:
            let status = provider.status()
            // Nothing configured at all: how to configure it says more than the account list.
            let why = status.state == .unconfigured ? status.detail : provider.accounts.unusableSummary()
            unusable.append("\(provider.name): \(why)")
        case .exhausted: break
        }
    }

    mutating func failed(_ error: GatewayError, fault: AccountPool.Fault, provider: String, account: String) {
        lastError = error
        lastFault = fault
        lastAccount = "\(provider) account '\(account)'"
    }

    func error(now: ContinuousClock.Instant = .now) -> GatewayError {
        if let lastError, lastFault == .unavailable { return lastError }
        if let coolingUntil {
            let wait = ProviderAccounts.seconds(coolingUntil - now).rounded(.up)
            return .rateLimited(
                "Every account that can serve this model is cooling down after rate limits; the first is back in \(Int(max(wait, 1))) s.",
                code: "all_accounts_cooling", retryAfter: Int(max(wait, 1)))
        }
        if let lastError {
            guard lastFault == .rejected else { return lastError }
            var error = GatewayError.unavailable(
                "The upstream refused the credentials of \(lastAccount), and no other account could serve: \(lastError.message)")
            error.upstreamStatus = lastError.upstreamStatus
            return error
        }
        return .unavailable("No account can serve this request (\(unusable.joined(separator: "; "))).")
    }
}

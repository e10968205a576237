import Foundation
import Logging
import Synchronization

/// Keeps an OAuth sign-in alive (docs/protocols/iflow.md): refreshes through `IFlowOAuth`, then
/// calls getUserInfo and writes the new key where the sign-in lives (the CLI's files, or the
/// state store), so the new key is used at once without a restart.
package final class IFlowTokenRefresher: Sendable {
    package enum State: Sendable, Equatable {
        /// No OAuth sign-in stored (an API key may still be configured).
        case none
        case ok(expiry: Date)
        case needsSignIn(reason: String)
    }

    private struct Shared {
        var schedule = IFlowRefreshSchedule()
        /// The refresh token that failed with invalid_grant; a different one means a new sign-in.
        var deadToken: String?
        /// How long to wait after the last failed refresh.
        var retryAfter: TimeInterval = IFlowRefreshSchedule.checkInterval
        /// The stored sign-in as last read, so requests and /health never read files.
        var stored: IFlowCredentialFiles.Stored?
    }

    package let oauth: IFlowOAuth
    package let home: any IFlowSignInHome
    private let logger: Logger
    private let now: @Sendable () -> Date
    /// Told after every save, so the key in use changes at once.
    private let onSaved: @Sendable () -> Void
    private let shared = Mutex(Shared())
    private let refreshing = SingleFlight<Bool>()

    package init(
        oauth: IFlowOAuth, home: any IFlowSignInHome, logger: Logger, now: @escaping @Sendable () -> Date = Date.init,
        onSaved: @escaping @Sendable () -> Void = {}
    ) {
        self.oauth = oauth
        self.home = home
        self.logger = logger
        self.now = now
        self.onSaved = onSaved
        reloadStored()
    }

    /// Reads the stored sign-in again (the provider's background work calls this every few seconds).
    package func reloadStored() {
        let stored = home.load()
        shared.withLock { $0.stored = stored }
    }

    /// Stores a sign-in (from the console or a refresh) and makes it the one in use.
    package func store(_ signIn: IFlowOAuth.SignIn) async throws {
        try await home.save(signIn)
        shared.withLock { shared in
            shared.schedule.succeeded()
            shared.deadToken = nil
        }
        reloadStored()
        onSaved()
    }

    package var state: State {
        let (stored, dead) = shared.withLock { ($0.stored, $0.deadToken) }
        guard let stored else { return .none }
        if let dead, dead == stored.refreshToken {
            return .needsSignIn(reason: "the refresh token was rejected (invalid_grant); sign in again")
        }
        guard let expiry = stored.expiry else { return .none }
        if expiry < now() && stored.refreshToken == nil { return .needsSignIn(reason: "the sign-in expired") }
        return .ok(expiry: expiry)
    }

    /// The loop the server runs: wakes every 15 min (or sooner after a failure) until cancelled.
    package func run(checkEvery limit: Duration? = nil) async {
        while !Task.isCancelled {
            var wait = IFlowRefreshSchedule.checkInterval
            let stored = home.load()
            let decision = shared.withLock { shared -> IFlowRefreshSchedule.Decision in
                shared.stored = stored
                if let dead = shared.deadToken, dead != stored?.refreshToken {
                    // A new sign-in replaced the dead token.
                    shared.deadToken = nil
                    shared.schedule.succeeded()
                }
                return shared.schedule.decide(
                    now: now(), expiry: stored?.expiry, hasRefreshToken: stored?.refreshToken != nil)
            }
            switch decision {
            case .wait(let seconds): wait = seconds
            case .refresh:
                if await refreshNow() {
                    wait = IFlowRefreshSchedule.checkInterval
                } else {
                    wait = shared.withLock { $0.retryAfter }
                }
            }
            var pause = Duration.milliseconds(Int64(max(wait, 1) * 1000))
            if let limit, limit < pause { pause = limit }
            try? await Task.sleep(for: pause)
        }
    }

    /// Refreshes now (one refresh at a time; concurrent callers share it, as do instances sharing
    /// the home). True on success.
    @discardableResult
    package func refreshNow() async -> Bool {
        let refreshed =
            (try? await refreshing.run { await self.home.refreshOnce { await self.performRefresh() } }) ?? false
        if refreshed {
            // Another instance's refresh counts too: take what it wrote.
            reloadStored()
            onSaved()
        }
        return refreshed
    }

    /// Before a request whose sign-in has already expired (docs/protocols/iflow.md).
    package func refreshIfExpired() async {
        guard let stored = shared.withLock({ $0.stored }), let expiry = stored.expiry, expiry <= now(),
            stored.refreshToken != nil
        else { return }
        await refreshNow()
    }

    private func performRefresh() async -> Bool {
        guard let stored = home.load(), let refreshToken = stored.refreshToken else { return false }
        if shared.withLock({ $0.deadToken == refreshToken }) { return false }
        do {
            var signIn = try await oauth.refresh(refreshToken: refreshToken, now: now())
            // The refresh token may or may not rotate.
            if signIn.refreshToken == nil { signIn.refreshToken = refreshToken }
            for (key, value) in stored.user where signIn.user[key] == nil { signIn.user[key] = value }
            try await store(signIn)
            logger.info("iFlow sign-in refreshed; valid until \(signIn.expiry.formatted(.iso8601))")
            return true
        } catch let failure as IFlowOAuth.Failure {
            switch failure {
            case .needsSignIn(let reason), .rejected(let reason):
                let firstTime = shared.withLock { shared -> Bool in
                    defer {
                        shared.deadToken = refreshToken
                        shared.schedule.signInNeeded()
                        shared.retryAfter = IFlowRefreshSchedule.checkInterval
                    }
                    return shared.deadToken != refreshToken
                }
                // Said once, never looped on.
                if firstTime { logger.error("iFlow needs a new sign-in (\(reason)); not refreshing again until then") }
            case .transient(let reason):
                let wait = shared.withLock { shared in
                    shared.retryAfter = shared.schedule.failedTransiently()
                    return shared.retryAfter
                }
                logger.warning("iFlow refresh failed (\(reason)); retrying in \(Int(wait)) s")
            }
            return false
        } catch {
            logger.error("iFlow refresh could not save the credentials: \(error)")
            return false
        }
    }
}

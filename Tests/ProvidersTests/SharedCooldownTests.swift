import Foundation
import Testing

@testable import Providers

/// Cooldowns coming from the state store against what was done here since the last sync.
@Suite struct SharedCooldownTests {
    @Test func aClearTheStoreHasNotSeenWinsOverTheStoresCooldown() {
        let accounts = ProviderAccounts(names: ["a"], settings: AccountQueue.Settings(limit: 0))
        let later = Date().addingTimeInterval(30)
        accounts.applyCooldown(account: "a", model: nil, until: later)
        #expect(accounts.status().first?.state == "cooling")
        // The operator enables the account; the store still holds the cooldown until the next sync writes the clear.
        #expect(accounts.clearCooldown("a"))
        accounts.applyCooldown(account: "a", model: nil, until: later)
        #expect(accounts.status().first?.state == "ok")
        // Once the clear has been taken (and written), a cooldown from the store applies again.
        #expect(accounts.takeCooldownChanges() == [.cleared(account: "a")])
        accounts.applyCooldown(account: "a", model: nil, until: later)
        #expect(accounts.status().first?.state == "cooling")
    }
}

import Foundation

/// This process, as the holder of what it takes in a shared store (lease slots, refresh locks):
/// one id, so an operator reading the tables sees which instance holds what.
package enum StoreHolder {
    package static let thisInstance = "flowgate-\(UUID().uuidString.prefix(12))"
}

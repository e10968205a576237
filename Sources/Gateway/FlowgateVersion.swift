package enum FlowgateVersion {
    package static let current = "0.1.0"

    /// For `flowgate --version`: the version and the commit it was built from.
    package static var full: String { "\(current) (commit \(BuildCommit.value))" }
}

public enum FlowgateVersion {
    public static let current = "0.1.0"

    /// For `flowgate --version`: the version and the commit it was built from.
    public static var full: String { "\(current) (commit \(BuildCommit.value))" }
}

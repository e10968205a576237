public enum FlowgateVersion {
    public static let current = "0.1.0"
}

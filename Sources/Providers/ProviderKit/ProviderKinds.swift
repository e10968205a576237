/// The kinds flowgate ships, in the order `kind:` values are listed in messages. A test (or a
/// build of flowgate with another upstream) passes its own list with more kinds.
package enum ProviderKinds {
    package static let builtIn: [any ProviderKind] = [IFlowKind(), FlowithKind(), OpenAICompatibleKind()]

    /// Keys every provider section may hold; the gateway reads them itself.
    package static let commonKeys: Set<String> = [
        "name", "kind", "aliases", "aliases_file", "max_concurrency", "queue_limit", "queue_timeout_seconds",
        "strategy",
    ]
}

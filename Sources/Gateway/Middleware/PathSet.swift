/// Request paths a middleware treats alike: some exactly, some by prefix (`/login/` for every
/// provider's sign-in, whichever a reload brings).
struct PathSet: Sendable {
    let exact: Set<String>
    let prefixes: [String]

    init(exact: Set<String>, prefixes: [String] = []) {
        self.exact = exact
        self.prefixes = prefixes
    }

    func contains(_ path: String) -> Bool {
        exact.contains(path) || prefixes.contains { path.hasPrefix($0) }
    }
}

/// The commit a release binary was built from: `scripts/build-release` (and the
/// Dockerfile's FLOWGATE_COMMIT) write it here; development builds say "unknown".
enum BuildCommit {
    static let value = "unknown"
}

import ServiceLifecycle

/// glibc's malloc keeps what a thread freed in that thread's arena; after a burst of requests
/// the freed pages stay resident (`MallocArenas` keeps the arenas to one per core).
/// Once a second `malloc_trim` hands whole free pages back to the system (docs/performance.md:
/// after the benchmark's load that was 5 MB of RSS that no longer held anything). With nothing
/// freed since the last pass it finds nothing to do.
struct FreeMemory: Service {
    var interval: Duration = .seconds(1)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                Self.returnToSystem()
            }
        }
    }

    /// Whether this C library has it (glibc does).
    static var isAvailable: Bool { GlibcMalloc.trim != nil }

    static func returnToSystem() {
        _ = GlibcMalloc.trim?(0)
    }
}

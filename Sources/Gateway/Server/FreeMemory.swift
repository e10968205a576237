import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

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

    /// Looked up at run time: Swift's Glibc module does not declare it (malloc.h), and a C
    /// library other than glibc may not have it at all.
    private static let mallocTrim: (@convention(c) (UInt) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UInt) -> Int32).self)
        #else
        return nil
        #endif
    }()

    /// Whether this C library has it (glibc does).
    static var isAvailable: Bool { mallocTrim != nil }

    static func returnToSystem() {
        _ = mallocTrim?(0)
    }
}

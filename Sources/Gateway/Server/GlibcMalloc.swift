#if canImport(Glibc)
import Glibc
#endif

/// malloc.h's tuning functions. Swift's Glibc module does not declare them, so they are looked
/// up at run time; nil with a C library other than glibc.
enum GlibcMalloc {
    /// `malloc_trim(pad)`: hands whole free pages back to the system.
    static let trim: (@convention(c) (UInt) -> Int32)? = function(named: "malloc_trim")
    /// `mallopt(parameter, value)`.
    static let option: (@convention(c) (Int32, Int32) -> Int32)? = function(named: "mallopt")
    /// `mallopt`'s `M_ARENA_MAX`.
    static let arenaMax: Int32 = -8

    private static func function<Function>(named name: String) -> Function? {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, name) else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
        #else
        return nil
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// glibc's malloc gives threads that allocate at the same time arenas of their own, up to eight
/// per core, and each arena keeps the pages its live objects are scattered over. One arena per
/// core (as many as the server has event loops) keeps that spread small: after the benchmark's
/// load, RSS 31.5 → 30.0 MB with throughput unchanged; a single arena cost 12 % of plain
/// throughput to lock contention (docs/performance.md, "Fewer resident pages after load").
public enum MallocArenas {
    /// Call first thing in `main`, before other threads exist. Leaves a limit the operator set
    /// (`MALLOC_ARENA_MAX`, `GLIBC_TUNABLES`) alone; does nothing outside glibc.
    public static func limit(to count: Int) {
        #if canImport(Glibc)
        if getenv("MALLOC_ARENA_MAX") != nil { return }
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("arena_max") { return }
        _ = GlibcMalloc.option?(GlibcMalloc.arenaMax, Int32(clamping: max(1, count)))
        #endif
    }
}

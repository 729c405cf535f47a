import CSitewallLinux

/// How the C allocator serves a run: a sitewall command builds a model of the whole site, writes its
/// output and exits, so memory it frees is better kept for its next allocation than handed back.
/// glibc's defaults map every block over 128 KiB (a growing array of a large site's hosts) fresh
/// from the kernel and unmap it when freed, and trim the heap at every free: each time the pages are
/// faulted in anew (5 to 10% of a 50,000-host gateway compile, side by side on the project machine).
public enum ProcessMemory {
    /// Blocks up to 32 MiB (glibc's most) come from the heap, which grows 64 MiB at a time (address
    /// space: pages count only once used) and is not trimmed. True when glibc took every setting.
    @discardableResult
    public static func keepFreedMemory() -> Bool {
        // mallopt returns 1 when it takes a setting; a refusal only leaves glibc's defaults.
        let settings: [(Int32, Int32)] = [
            (CSitewallLinux_m_mmap_threshold(), 32 << 20), (CSitewallLinux_m_trim_threshold(), Int32.max),
            (CSitewallLinux_m_top_pad(), 64 << 20),
        ]
        // Every setting is tried: one refused leaves the others in place.
        return settings.map { CSitewallLinux_mallopt($0.0, $0.1) == 1 }.allSatisfy { $0 }
    }

    /// Keeps `value` until the process exits and returns it: a command that exits after its output
    /// need not free a model of the whole site object by object (about 2% of a large gateway compile);
    /// the kernel takes the pages back at once. For a process's one model only: it is never freed.
    public static func keepUntilExit<Value>(_ value: Value) -> Value {
        _ = Unmanaged.passRetained(Kept(value))
        return value
    }

    private final class Kept<Value> {
        let value: Value
        init(_ value: Value) { self.value = value }
    }
}

import CSitewallLinux

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a little work (opening a socket) inside another network namespace and comes back:
/// a socket keeps the namespace it was made in, so the rest of the process never leaves its own.
public enum NetworkNamespace {
    /// `target` is an open handle of the namespace (/run/netns/NAME); `body` must not suspend.
    public static func run<T>(in target: Int32, _ body: () throws -> T) throws -> T {
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { throw NetlinkError.system("opening this thread's network namespace", errno) }
        defer { close(home) }
        guard CSitewallLinux_setns(target, CSitewallLinux_clone_newnet()) == 0 else {
            throw NetlinkError.system("entering a network namespace", errno)
        }
        defer {
            guard CSitewallLinux_setns(home, CSitewallLinux_clone_newnet()) == 0 else {
                fatalError("cannot return to own network namespace")
            }
        }
        return try body()
    }

    /// The same, naming the namespace by path.
    public static func run<T>(at path: String, _ body: () throws -> T) throws -> T {
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw NetlinkError.system("opening network namespace \(path)", errno) }
        defer { close(target) }
        return try run(in: target, body)
    }
}

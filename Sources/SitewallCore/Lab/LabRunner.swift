import Foundation

/// Stands a lab up, loads rules into it and tears it down, whatever happens.
public final class Lab: @unchecked Sendable {
    public enum LabError: Error, CustomStringConvertible {
        case needsPrivileges(String)
        case command(String, String)

        public var description: String {
            switch self {
            case .needsPrivileges(let detail):
                "verify needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create network namespaces: \(detail)"
            case .command(let what, let detail): "\(what) failed: \(detail)"
            }
        }
    }

    public let plan: LabPlan
    private let scratch: URL
    private var created = false
    private let lock = NSLock()

    /// Namespaces of every lab still standing, for the signal handler.
    nonisolated(unsafe) private static var live: [ObjectIdentifier: Lab] = [:]
    private static let liveLock = NSLock()

    public init(site: ResolvedSite) {
        // The whole process id: where pid_max passes 100,000, two live processes could share a prefix.
        let prefix = "swl\(getpid())x" + String(UInt32.random(in: 0..<0xffff), radix: 16)
        plan = LabPlan.make(site, prefix: prefix)
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sitewall-lab-\(prefix)")
    }

    deinit { tearDown() }

    /// Creates every namespace, link, address and route.
    public func build() throws {
        // Live and created before the folder exists, under the lock: a signal's teardown then either
        // removes the folder or comes before it (and the next write is refused).
        Lab.liveLock.withLock { Lab.live[ObjectIdentifier(self)] = self }
        try lock.withLock {
            created = true
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        }
        let commands = plan.commands
        // Namespaces first, then every link from inside the fabric namespace.
        for (namespace, lines) in commands.prefix(2) {
            var arguments = namespace.map { ["-n", $0] } ?? []
            arguments += ["-batch", "-"]
            let result = try Subprocess.run("/usr/sbin/ip", arguments, stdin: lines.joined(separator: "\n") + "\n")
            guard result.status == 0 else {
                if namespace == nil,
                    result.stderr.contains("Permission denied") || result.stderr.contains("Operation not permitted")
                {
                    throw LabError.needsPrivileges(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
                }
                throw LabError.command("setting up \(namespace ?? "namespaces")", result.stderr)
            }
        }
        // br_netfilter would run bridged frames through the fabric's inet hooks; keep the fabric a plain switch.
        try exec(
            plan.fabric,
            "for f in iptables ip6tables arptables; do "
                + "sysctl -qw net.bridge.bridge-nf-call-$f=0 2>/dev/null || true; done"
        )
        // Each node: no duplicate address detection (addresses work at once), forwarding on gateways,
        // then addresses, links and routes in one ip batch.
        for (namespace, lines) in commands.dropFirst(2) {
            guard let namespace, let node = plan.nodes.first(where: { $0.namespace == namespace }) else { continue }
            let batch = try writeScratch(lines.joined(separator: "\n") + "\n", named: "\(namespace).ip")
            // ping_group_range: echo probes use unprivileged ICMP sockets, off by default in a new namespace.
            var sysctls = [
                "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                "net.ipv4.ping_group_range='0 2147483647'",
            ]
            sysctls += node.interfaces.map { "net.ipv6.conf.\($0.name).accept_dad=0" }
            if node.isGateway { sysctls += ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"] }
            try exec(namespace, "sysctl -qw \(sysctls.joined(separator: " ")) && ip -batch \(batch.path)")
        }
    }

    /// Loads one nft script into a host's namespace.
    public func load(nft script: String, into host: String) throws {
        guard let node = plan.node(for: host) else { return }
        let file = try writeScratch(script, named: "\(node.namespace).nft")
        try exec(node.namespace, "nft -f \(file.path)")
    }

    /// Loads iptables-save text (both families) into a host's namespace.
    public func load(iptables ipv4: String, ipv6: String, into host: String) throws {
        guard let node = plan.node(for: host) else { return }
        let v4 = try writeScratch(ipv4, named: "\(node.namespace).v4")
        let v6 = try writeScratch(ipv6, named: "\(node.namespace).v6")
        try exec(node.namespace, "iptables-restore \(v4.path) && ip6tables-restore \(v6.path)")
    }

    /// Writes a file into the lab's scratch folder, refused once the lab is torn down. A signal's
    /// teardown runs beside the work: a write under way when the folder went kept it (a half-written
    /// file was left in CI's temporary folder), so writing and the teardown's start exclude each other.
    func writeScratch(_ text: String, named name: String) throws -> URL {
        let file = scratch.appendingPathComponent(name)
        try lock.withLock {
            guard created else { throw LabError.command("writing \(name)", "the lab has been torn down") }
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        return file
    }

    /// The scratch folder's path (for leak checks).
    var scratchPath: String { scratch.path }

    /// The path of a namespace's handle, for setns(2).
    public func namespacePath(of host: String) -> String? {
        plan.node(for: host).map { "/run/netns/\($0.namespace)" }
    }

    public func exec(_ namespace: String, _ command: String) throws {
        let result = try Subprocess.run("/usr/sbin/ip", ["netns", "exec", namespace, "/bin/sh", "-c", command])
        guard result.status == 0 else { throw LabError.command("'\(command)' in \(namespace)", result.stderr) }
    }

    /// Deletes every namespace of this lab (which removes its links). Safe to call twice, and from
    /// two threads: a second call returns only once the first has finished.
    public func tearDown() {
        Lab.removing.lock()
        defer { Lab.removing.unlock() }
        let wasCreated = lock.withLock { () -> Bool in
            defer { created = false }
            return created
        }
        Lab.liveLock.withLock { _ = Lab.live.removeValue(forKey: ObjectIdentifier(self)) }
        guard wasCreated else { return }
        Lab.remove(plan.namespaces)
        // A signal can arrive while an ip batch is still adding this lab's namespaces (seen once in CI: an
        // interrupted verify left its lab behind): sweep by the lab's prefix until none is left.
        for _ in 0..<5 {
            let leftover = Lab.existingNamespaces(prefix: plan.prefix + "-")
            if leftover.isEmpty { break }
            usleep(100_000)
            Lab.remove(leftover)
        }
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Kills whatever still runs in the namespaces (a daemon a test started goes with its lab, never
    /// outlives it), then deletes them.
    private static func remove(_ namespaces: [String]) {
        for namespace in namespaces {
            _ = try? Subprocess.run("/bin/sh", ["-c", "ip netns pids \(namespace) 2>/dev/null | xargs -r kill -9"])
        }
        let lines = namespaces.map { "netns del \($0)" }.joined(separator: "\n") + "\n"
        // -force: keep deleting after one that was never created.
        _ = try? Subprocess.run("/usr/sbin/ip", ["-force", "-batch", "-"], stdin: lines)
    }

    /// Set once a signal handler has started tearing labs down: the work in progress will fail.
    nonisolated(unsafe) public private(set) static var interrupted = false

    /// Held for the whole of a teardown. The signal handler exits the process once `tearDownAll`
    /// returns: a teardown another thread has begun (the work failed when Ctrl-C killed its child, and
    /// its `defer` tears the lab down) must be finished by then, not cut off with namespaces left.
    private static let removing = NSLock()

    /// Tears down every live lab, and waits for any teardown already under way; for signal handlers.
    public static func tearDownAll() {
        interrupted = true
        tearDownLive()
    }

    static func tearDownLive() {
        let labs = liveLock.withLock { Array(live.values) }
        for lab in labs { lab.tearDown() }
        removing.withLock {}
    }

    /// Lab namespaces on this machine whose names start with `prefix` (for leak checks).
    public static func existingNamespaces(prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }

}

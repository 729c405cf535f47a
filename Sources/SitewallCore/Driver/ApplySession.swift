import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `sitewall apply`: the safety around one netlink transaction on a live machine. One apply at
/// a time (a lock, and the kernel's generation check), a lockout guard, a dry run, an optional
/// persisted script, and a detached watchdog that restores the previous table unless confirmed.
public struct ApplySession {
    public static let defaultStateDirectory = "/run/sitewall"

    /// The apply was refused before anything changed (lockout, pending confirmation, busy).
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    public let workspace: Workspace
    public let target: Target
    public let policy: Policy
    public var stateDirectory = ApplySession.defaultStateDirectory
    /// The SSH connection `apply` runs under ("client port server port"), from SSH_CONNECTION.
    public var sshConnection = ProcessInfo.processInfo.environment["SSH_CONNECTION"]

    public init(workspace: Workspace, target: Target, policy: Policy) {
        self.workspace = workspace
        self.target = target
        self.policy = policy
    }

    /// This network namespace's own folder under the state directory (namespaces do not share it).
    public static func namespaceDirectory(_ base: String) -> String {
        var info = stat()
        let id = stat("/proc/self/ns/net", &info) == 0 ? String(info.st_ino) : "default"
        return "\(base)/netns-\(id)"
    }

    // MARK: lockout guard

    /// Every management path the new ruleset would cut; empty when it is safe.
    public func lockoutProblems() -> [String] {
        let evaluator = PolicyEvaluator(policy: policy)
        var problems: [String] = []
        if let connection = sshConnection {
            let parts = connection.split(separator: " ")
            if parts.count == 4, let client = IPAddress(parts[0]), let server = IPAddress(parts[2]),
               let clientPort = UInt16(parts[1]), let serverPort = UInt16(parts[3]) {
                let packet = PolicyEvaluator.Packet(source: client, destination: server, transport: .tcp,
                                                    sourcePort: clientPort, destinationPort: serverPort)
                if evaluator.verdict(packet, chain: "input") != .accept {
                    problems.append("the SSH connection this runs under (\(client) -> \(server) tcp/\(serverPort)) could not be opened again")
                }
            }
        }
        guard let host = workspace.resolved.host(named: target.name) else { return problems }
        let sshPorts = host.offers["ssh/ssh"]?.ports ?? PortSet(22)
        for manager in host.management {
            guard let station = workspace.resolved.host(named: manager) else { continue }
            let reachable = station.addresses.contains { from in
                host.addresses.contains { to in
                    from.address.family == to.address.family && evaluator.verdict(
                        PolicyEvaluator.Packet(source: from.address, destination: to.address, transport: .tcp, sourcePort: 40000,
                                               destinationPort: sshPorts.ranges[0].lower), chain: "input") == .accept
                }
            }
            if !reachable {
                problems.append("management host \(manager) could not reach \(target.name) over SSH (tcp/\(sshPorts)); give \(target.name) the ssh/server role and \(manager) ssh/client")
            }
        }
        return problems
    }

    // MARK: run

    public func run(dryRun: Bool, force: Bool, confirmSeconds: Int?, persistPath: String?, executable: String) throws -> String {
        let problems = lockoutProblems()
        if !problems.isEmpty && !force {
            throw Refused(description: "refusing to apply: the new ruleset would cut the management path:\n  - "
                          + problems.joined(separator: "\n  - ") + "\nfix the site, or pass --force if you are sure")
        }
        var out = problems.isEmpty ? "" : "warning (--force): " + problems.joined(separator: "; ") + "\n"
        let directory = ApplySession.namespaceDirectory(stateDirectory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lock = try ApplyLock(path: directory + "/apply.lock")
        defer { lock.release() }
        if Watchdog.isPending(directory: directory) {
            throw Refused(description: "an earlier apply is waiting for confirmation: run 'sitewall confirm' or wait for its rollback")
        }

        let socket = try NetlinkSocket()
        let applier = NetlinkApplier(socket: socket)
        let previous = try socket.snapshot(table: policy.table.name)
        let running = NetlinkSnapshotSummary(previous)

        if dryRun {
            let result = try applier.apply(policy, dryRun: true)
            out += "dry run for \(target) of site \(policy.site): nothing was changed\n"
            out += "  running:  " + (previous.isEmpty ? "no table inet \(policy.table.name)" : "table inet \(policy.table.name) with \(running)") + "\n"
            out += "  would apply: \(result.counts) (the kernel accepted the transaction)\n"
            if let persistPath { out += "  would write \(persistPath)\n" }
            return out
        }

        if let seconds = confirmSeconds {
            try Watchdog.arm(directory: directory, table: policy.table.name, snapshot: previous, seconds: seconds, executable: executable)
        }
        let result: NetlinkApplier.Result
        do {
            result = try applier.apply(policy)
        } catch {
            if confirmSeconds != nil { Watchdog.disarm(directory: directory) }
            throw error
        }
        if let persistPath {
            try FileOutput.writeAtomically(NftBackend.render(policy), to: persistPath)
        }
        out += "applied \(target) of site \(policy.site): \(result.counts) in \(String(format: "%.3f", result.seconds)) s"
        out += " (\(result.messages) netlink messages, \(result.bytes) bytes, one transaction)\n"
        out += previous.isEmpty ? "  replaced: no earlier table inet \(policy.table.name)\n" : "  replaced: table inet \(policy.table.name) with \(running)\n"
        if let persistPath { out += "  wrote \(persistPath) for the nftables boot service\n" }
        if let seconds = confirmSeconds {
            out += "  confirm within \(seconds) s with 'sitewall confirm', or the previous ruleset comes back\n"
        }
        return out
    }
}

/// What a raw snapshot holds, counted by message type (for the apply and dry-run reports).
public struct NetlinkSnapshotSummary: CustomStringConvertible {
    public var chains = 0, sets = 0, rules = 0

    public init(_ bytes: [UInt8]) {
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
            let type = Int(bytes[offset + 4]) & 0xff
            switch type {
            case 3: chains += 1   // NFT_MSG_NEWCHAIN
            case 6: rules += 1    // NFT_MSG_NEWRULE
            case 9: sets += 1     // NFT_MSG_NEWSET
            default: break
            }
            guard length >= 16 else { break }
            offset += (length + 3) & ~3
        }
    }

    public var description: String { "\(chains) chains, \(sets) sets, \(rules) rules" }
}

/// One apply at a time per network namespace.
final class ApplyLock {
    private let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ApplySession.Refused(description: "cannot open the apply lock \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ApplySession.Refused(description: "another sitewall apply is running in this network namespace; try again when it is done")
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Writes a file whole or not at all, creating its folder.
public enum FileOutput {
    public static func writeAtomically(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).sitewall-\(getpid())")
        do {
            try Data(text.utf8).write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else { throw NetlinkError.system("renaming into \(path)", errno) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }
}

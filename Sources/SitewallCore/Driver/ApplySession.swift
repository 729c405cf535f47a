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
    /// Start the named counters from zero instead of carrying the running table's values over.
    public var resetCounters = false
    /// The SSH connection `apply` runs under ("client port server port"), from SSH_CONNECTION.
    public var sshConnection = ProcessInfo.processInfo.environment["SSH_CONNECTION"]

    public init(workspace: Workspace, target: Target, policy: Policy) {
        self.workspace = workspace
        self.target = target
        self.policy = policy
    }

    // MARK: lockout guard

    /// The SSH connection as (client, client port, server, server port): scoped link-local
    /// addresses lose their zone, IPv4-mapped IPv6 addresses become IPv4. nil when it does not parse.
    public static func parseSSHConnection(_ text: String) -> (IPAddress, UInt16, IPAddress, UInt16)? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 4, let clientPort = UInt16(parts[1]), let serverPort = UInt16(parts[3]),
            let client = address(parts[0]), let server = address(parts[2])
        else { return nil }
        return (client, clientPort, server, serverPort)
    }

    private static func address(_ text: Substring) -> IPAddress? {
        let unscoped = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? ""
        guard let address = IPAddress(unscoped) else { return nil }
        if address.family == .ipv6, address.value >> 32 == 0xffff {
            return IPAddress(family: .ipv4, value: address.value & 0xffff_ffff)
        }
        return address
    }

    /// Every management path the new ruleset would cut; empty when it is safe.
    public func lockoutProblems() -> [String] {
        let evaluator = PolicyEvaluator(policy: policy)
        var problems: [String] = []
        if let connection = sshConnection {
            if let (client, clientPort, server, serverPort) = Self.parseSSHConnection(connection) {
                let packet = PolicyEvaluator.Packet(
                    source: client, destination: server, transport: .tcp,
                    sourcePort: clientPort, destinationPort: serverPort)
                if evaluator.verdict(packet, chain: "input") != .accept {
                    problems.append(
                        "the SSH connection this runs under (\(client) -> \(server) tcp/\(serverPort)) "
                            + "could not be opened again")
                }
            } else {
                problems.append(
                    "SSH_CONNECTION is set but does not read as 'client port server port' ("
                        + InputText.quoted(connection) + "), so sitewall cannot tell whether the new rules keep "
                        + "this session reachable")
            }
        }
        guard let host = workspace.resolved.host(named: target.name) else { return problems }
        let sshPorts = host.offers["ssh/ssh"]?.ports ?? PortSet(22)
        for manager in host.management {
            guard let station = workspace.resolved.host(named: manager) else { continue }
            let reachable = station.addresses.contains { from in
                host.addresses.contains { to in
                    from.address.family == to.address.family
                        && evaluator.verdict(
                            PolicyEvaluator.Packet(
                                source: from.address, destination: to.address, transport: .tcp, sourcePort: 40000,
                                destinationPort: sshPorts.ranges[0].lower), chain: "input") == .accept
                }
            }
            if !reachable {
                problems.append(
                    "management host \(manager) could not reach \(target.name) over SSH (tcp/\(sshPorts)); "
                        + "give \(target.name) the ssh/server role and \(manager) ssh/client"
                )
            }
        }
        return problems
    }

    // MARK: run

    /// The rules were committed, but the boot file could not be written.
    public struct NotPersisted: Error, CustomStringConvertible {
        /// What was applied (for standard output).
        public var report: String
        public var problem: String
        public var description: String { report + problem }
    }

    public func run(
        dryRun: Bool, force: Bool, confirmSeconds: Int?, persistPath relativePersistPath: String?,
        executable: String
    ) throws -> String {
        // Absolute: with --confirm the file is written later, by 'sitewall confirm', from any folder.
        let persistPath = relativePersistPath.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        // Everything the netlink encoder cannot express, all at once and with its site line, before anything.
        let unexpressible = Backends.unexpressible(policy, by: .netlink)
        if !unexpressible.isEmpty {
            throw Refused(
                description: "refusing to apply: \(unexpressible.count) rule\(unexpressible.count == 1 ? "" : "s") "
                    + "cannot be applied over netlink (nothing was changed):\n  - "
                    + unexpressible.map(\.description).joined(separator: "\n  - "))
        }
        let problems = lockoutProblems()
        if !problems.isEmpty && !force {
            throw Refused(
                description: "refusing to apply: the new ruleset would cut the management path:\n  - "
                    + problems.joined(separator: "\n  - ") + "\nfix the site, or pass --force if you are sure")
        }
        var out = problems.isEmpty ? "" : "warning (--force): " + problems.joined(separator: "; ") + "\n"
        let state = try StateDirectory.open(base: stateDirectory)
        StateDirectory.removeStale(base: stateDirectory)
        guard let lock = try state.lock("apply.lock", wait: 0) else {
            throw Refused(
                description: "another sitewall apply is running in this network namespace; try again when it is done")
        }
        defer { lock.release() }
        if case .pending(let pending, let alive) = try Watchdog.status(state) {
            let left = Int(max(0, pending.deadline - Date().timeIntervalSince1970).rounded(.up))
            throw Refused(
                description: alive
                    ? "an earlier apply is waiting for confirmation (\(left) s left): run 'sitewall confirm' "
                        + "to keep it, 'sitewall rollback' to restore the previous table now, or wait for its rollback"
                    : "an earlier apply --confirm is unconfirmed and its watchdog is gone (killed, or its rollback "
                        + "failed: see \(state.path)/watchdog.log), so nothing will roll it back: "
                        + "run 'sitewall confirm' to keep the running rules, "
                        + "or 'sitewall rollback' to restore the previous table now")
        }

        let socket = try NetlinkSocket()
        let applier = NetlinkApplier(socket: socket)
        let table = policy.table.name
        let previous = try socket.consistentSnapshot(table: table)
        let running = NetlinkSnapshotSummary(previous.bytes)
        let runningText = previous.bytes.isEmpty ? "no table inet \(table)" : "table inet \(table) with \(running)"

        // What the rollback could not restore exactly is found before anything changes.
        if confirmSeconds != nil {
            let lost = try applier.checkRestorable(table: table, snapshot: previous.bytes)
            if !lost.isEmpty {
                throw Refused(
                    description: "refusing --confirm: the running table inet \(table) holds what a rollback "
                        + "could not put back exactly:\n  - " + lost.map(InputText.clipped).joined(separator: "\n  - ")
                        + "\napply without --confirm if you accept that, or remove those objects first")
            }
        }

        if dryRun {
            let result = try applier.apply(policy, dryRun: true)
            // What would change, in the words `sitewall diff` uses (apply replaces sitewall's table only).
            let state = try NetlinkReadback.read(
                socket: socket, target: target, site: policy.site, table: table, nftSyntax: true)
            let diff = PolicyDiff.compare(expected: policy, running: state, ownTableOnly: true)
            out +=
                DiffReport(
                    diff: diff, site: workspace.resolved, target: target, mode: .live,
                    otherChains: state.otherChains
                ).text
            out += "dry run for \(target) of site \(policy.site): nothing was changed\n"
            out += "  running:  \(runningText)\n"
            out += "  would apply: \(result.counts) (the kernel accepted the transaction)\n"
            if let persistPath { out += "  would write \(persistPath)\n" }
            return out
        }

        var pending: Watchdog.Pending?
        if let seconds = confirmSeconds {
            pending = try Watchdog.arm(
                state, table: table, snapshot: previous.bytes, seconds: seconds,
                persist: persistPath.map { ($0, NftBackend.render(policy)) }, executable: executable)
        }
        let result: NetlinkApplier.Result
        do {
            // Counters keep counting across applies (the same rule keeps its counter's name).
            let counters =
                resetCounters || policy.table.counters == nil ? [:] : NetlinkApplier.counterValues(in: previous.bytes)
            result = try applier.apply(policy, previous: previous, counters: counters)
        } catch let error as NetlinkError where error.outcomeUnknown {
            // It may have been committed: the watchdog stays armed and restores the previous table.
            throw NetlinkError(
                message: "\(error)"
                    + (pending == nil
                        ? ""
                        : "\nthe watchdog stays armed: unless "
                            + "'sitewall confirm' runs in time, it restores the previous table"))
        } catch {
            if let pending { Watchdog.cancel(state, id: pending.id, reason: "the transaction was refused: \(error)") }
            throw error
        }
        out +=
            "applied \(target) of site \(policy.site): \(result.counts) in \(String(format: "%.3f", result.seconds)) s"
        out +=
            " (\(result.messages) netlink messages, \(result.bytes) bytes, one transaction"
            + (result.attempts > 1 ? ", sent \(result.attempts) times as the ruleset changed" : "") + ")\n"
        out += "  replaced: \(runningText)\n"
        if let seconds = confirmSeconds, let pending {
            Watchdog.restartCount(state, id: pending.id, seconds: seconds)
            out += "  confirm within \(seconds) s with 'sitewall confirm', or the previous ruleset comes back\n"
            if let persistPath { out += "  \(persistPath) is written for the nftables boot service once confirmed\n" }
        } else if let persistPath {
            do {
                try FileOutput.writeAtomically(NftBackend.render(policy), to: persistPath)
                out += "  wrote \(persistPath) for the nftables boot service\n"
            } catch {
                throw NotPersisted(
                    report: out,
                    problem: "the boot file was not written: \(error)\nthe new rules are "
                        + "applied and stay, but a reboot brings back whatever \(persistPath) held before")
            }
        }
        return out
    }
}

/// What a raw snapshot holds, counted by message type (for the apply and dry-run reports).
public struct NetlinkSnapshotSummary: CustomStringConvertible {
    public var chains = 0, sets = 0, rules = 0

    public init(_ bytes: [UInt8]) {
        for span in NetlinkMessages.spans(bytes) {
            switch bytes[span.offset + 4] {
            case 3: chains += 1  // NFT_MSG_NEWCHAIN
            case 6: rules += 1  // NFT_MSG_NEWRULE
            case 9: sets += 1  // NFT_MSG_NEWSET
            default: break
            }
        }
    }

    public var description: String { "\(chains) chains, \(sets) sets, \(rules) rules" }
}

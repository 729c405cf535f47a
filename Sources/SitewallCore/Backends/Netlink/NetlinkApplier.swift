import Foundation

/// Applies a policy through netlink: one transaction that replaces sitewall's table, bound to the
/// ruleset generation it was planned against (a concurrent change makes the kernel refuse it,
/// and it is planned again).
public struct NetlinkApplier {
    public struct Result: Sendable {
        public var counts: NetlinkBatch.Counts
        public var messages: Int
        public var bytes: Int
        public var seconds: Double
        public var generation: UInt32
        public var attempts: Int
    }

    public let socket: NetlinkSocket

    public init(socket: NetlinkSocket) { self.socket = socket }

    /// How often, and for how long, a transaction refused for a stale generation is sent again.
    /// A busy gateway (a DHCP server or fail2ban committing now and then) gets in within a few
    /// tries; the encoding is done once, so a try costs a generation read and a send.
    public struct Retry: Sendable {
        public var attempts = 12
        public var budget: TimeInterval = 30
        public init() {}
    }

    /// Applies `policy` (or, with `dryRun`, has the kernel validate it and abort). With `previous`
    /// (sitewall's table as read for the rollback, and its generation) the transaction is bound to
    /// that generation: when the ruleset changed in between, the table is read again, and the
    /// transaction is sent again only if sitewall's own table is still exactly as saved.
    /// `counters`: the values the table's named counters start from (carried over from the running table).
    public func apply(
        _ policy: Policy, dryRun: Bool = false, previous: (bytes: [UInt8], generation: UInt32)? = nil,
        counters: [String: CounterValue] = [:], retry: Retry = Retry()
    ) throws -> Result {
        let start = Date()
        let table = policy.table.name
        let first = try previous?.generation ?? socket.generation()
        var generation = first
        let batch = NetlinkBatch()
        batch.begin(generation: generation)
        try NetlinkEncoder.encode(policy, into: batch, counters: counters)
        // Without an end message the kernel checks every object, then aborts: nothing changes.
        if !dryRun { batch.end() }
        var attempt = 0
        while true {
            attempt += 1
            do {
                try batch.send(
                    on: socket, operation: dryRun ? "checking the ruleset (dry run)" : "applying table inet \(table)")
                return Result(
                    counts: batch.counts, messages: Int(batch.messages), bytes: batch.bytes,
                    seconds: Date().timeIntervalSince(start), generation: generation, attempts: attempt)
            } catch let error as NetlinkError where error.isStaleGeneration {
                let elapsed = Date().timeIntervalSince(start)
                guard attempt < retry.attempts, elapsed < retry.budget else {
                    let commits = ((try? socket.generation()) ?? generation) &- first
                    throw NetlinkError(
                        message: "applying table inet \(table) failed: the ruleset kept changing under it "
                            + "(other programs committed \(commits) changes during \(attempt) attempts over "
                            + String(format: "%.1f", elapsed)
                            + " s); nothing was changed. Find what rewrites the rules "
                            + "continuously ('nft monitor' shows it), or try again when it is quiet")
                }
                // Spread the tries out, so as not to collide with a periodic writer again and again.
                usleep(UInt32.random(in: 20_000...(40_000 << min(attempt, 4))))
                if let previous {
                    let now = try socket.consistentSnapshot(table: table)
                    guard Self.sameObjects(now.bytes, previous.bytes) || Self.sameButCounted(now.bytes, previous.bytes)
                    else {
                        throw NetlinkError(
                            message: "applying table inet \(table) failed: another program changed that "
                                + "table after sitewall read it; nothing was changed. Run apply again")
                    }
                    generation = now.generation
                } else {
                    generation = try socket.generation()
                }
                try batch.rebind(generation: generation)
            }
        }
    }

    /// Two dumps hold the same objects: equal bytes once what differs from one dump request to the
    /// next is left out: each message's sequence number and port id, and the generation the kernel
    /// stamps into every dumped message (nfgenmsg's res_id).
    static func sameObjects(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        let spans = NetlinkMessages.spans(a)
        guard spans.allSatisfy({ $0.length >= NetlinkMessages.nfHeader }), NetlinkMessages.end(of: spans) == a.count
        else { return a == b }
        return a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                func same(_ from: Int, _ to: Int) -> Bool {
                    memcmp(x.baseAddress! + from, y.baseAddress! + from, to - from) == 0
                }
                // Per message, the sequence number and port id, and nfgenmsg's res_id, are left out.
                let seq = NetlinkMessages.sequenceOffset
                let resID = NetlinkMessages.resIDOffset
                return spans.allSatisfy {
                    same($0.offset, $0.offset + seq) && same($0.offset + NetlinkMessages.header, $0.offset + resID)
                        && same($0.offset + NetlinkMessages.nfHeader, $0.offset + $0.length)
                }
            }
        }
    }

    /// Two dumps of sitewall's table that differ only in what its named counters have counted since.
    static func sameButCounted(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard let x = try? NetlinkDump(a), let y = try? NetlinkDump(b),
            x.objects.contains(where: { $0.counter != nil })
        else { return false }
        let target = Target(kind: .host, name: "")
        let (p, q) = (
            NetlinkReadback.decode(x, target: target, site: "", table: Table.defaultName),
            NetlinkReadback.decode(y, target: target, site: "", table: Table.defaultName)
        )
        return p.policy == q.policy && p.unreadable == q.unreadable && p.foreignSets == q.foreignSets
            && p.extraChains == q.extraChains && p.tableFlags == q.tableFlags
    }

    /// The values of the named counters in a snapshot of sitewall's table (empty: none, or no table).
    public static func counterValues(in snapshot: [UInt8]) -> [String: CounterValue] {
        guard !snapshot.isEmpty, let dump = try? NetlinkDump(snapshot) else { return [:] }
        var values: [String: CounterValue] = [:]
        for object in dump.objects { if let value = object.counter { values[object.name] = value } }
        return values
    }

    /// Puts back a table saved with `NetlinkSocket.snapshot` (an empty snapshot removes the table).
    public func restore(table: String, snapshot: [UInt8]) throws {
        let batch = NetlinkBatch()
        batch.begin(generation: nil)
        batch.addTable(table)
        batch.deleteTable(table)
        if !snapshot.isEmpty { try batch.replay(snapshot) }
        batch.end()
        try batch.send(on: socket, operation: "restoring the previous table inet \(table)")
    }

    /// Checks, before anything changes, that `snapshot` can be put back: the kernel validates the
    /// restoring transaction and aborts it. Returns what would not come back exactly.
    public func checkRestorable(table: String, snapshot: [UInt8]) throws -> [String] {
        guard !snapshot.isEmpty else { return [] }
        let batch = NetlinkBatch()
        batch.begin(generation: nil)
        batch.addTable(table)
        batch.deleteTable(table)
        let lost = try batch.replay(snapshot)
        try batch.send(on: socket, operation: "checking that the previous table inet \(table) can be restored")
        return lost
    }
}

#if canImport(Glibc)
    import Glibc
#endif

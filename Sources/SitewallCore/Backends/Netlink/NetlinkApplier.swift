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

    /// Applies `policy` (or, with `dryRun`, has the kernel validate it and abort).
    public func apply(_ policy: Policy, dryRun: Bool = false, maxAttempts: Int = 3) throws -> Result {
        let start = Date()
        var attempt = 0
        while true {
            attempt += 1
            let generation = try socket.generation()
            let batch = NetlinkBatch()
            batch.begin(generation: generation)
            try NetlinkEncoder.encode(policy, into: batch)
            // Without an end message the kernel checks every object, then aborts: nothing changes.
            if !dryRun { batch.end() }
            do {
                try batch.send(on: socket, operation: dryRun ? "checking the ruleset (dry run)" : "applying table inet \(policy.table.name)")
            } catch let error as NetlinkError where error.refusals.count == 1 && error.refusals[0].errno == ERESTART
                && error.refusals[0].object == "the transaction" && attempt < maxAttempts {
                continue  // the ruleset changed between planning and commit: plan again
            }
            return Result(counts: batch.counts, messages: Int(batch.messages), bytes: batch.bytes,
                          seconds: Date().timeIntervalSince(start), generation: generation, attempts: attempt)
        }
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
}

#if canImport(Glibc)
import Glibc
#endif

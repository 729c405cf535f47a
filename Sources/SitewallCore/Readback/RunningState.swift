import Foundation

/// What is running: sitewall's table decoded into a policy, plus what else hooks the same points.
public struct RunningState: Sendable {
    /// A base chain of another table.
    public struct OtherChain: Sendable, Hashable, Codable {
        public var family: String
        public var table: String
        public var chain: String
        public var hook: String
        public var priority: Int
        public var policy: String
        /// What this chain (or its table's rules, through jumps) can do to the traffic sitewall filters:
        /// "policy drop", "drop", "reject", "nat", "notrack", ... Empty: it can only accept.
        public var effects: [String] = []

        public init(family: String, table: String, chain: String, hook: String, priority: Int, policy: String) {
            self.family = family
            self.table = table
            self.chain = chain
            self.hook = hook
            self.priority = priority
            self.policy = policy
        }

        /// Sets `effects` from the chain's policy and what its table's rules can do.
        mutating func addEffects(of tableEffects: Set<String>) {
            effects = (policy == "drop" ? ["policy drop"] : []) + tableEffects.sorted()
        }

        /// Hook numbers mean different hooks in different families.
        public static func hookName(family: String, number: Int) -> String {
            switch family {
            case "netdev": return ["ingress", "egress"][safe: number] ?? "hook \(number)"
            case "arp": return ["input", "output", "forward"][safe: number] ?? "hook \(number)"
            default:
                return ["prerouting", "input", "forward", "output", "postrouting", "ingress"][safe: number]
                    ?? "hook \(number)"
            }
        }
    }

    /// nil when sitewall's table is not loaded at all.
    public var policy: Policy?
    /// Chains of sitewall's table that are not base chains (sitewall never makes them).
    public var extraChains: [String] = []
    /// Sets sitewall does not write (a key type or flags it never uses), each described with the reason.
    public var foreignSets: [String] = []
    public var otherChains: [OtherChain] = []
    /// Objects of sitewall's table that could not be read faithfully, each described.
    public var unreadable: [String] = []
    /// What each named counter of sitewall's table has counted (never part of a diff).
    public var counters: [String: CounterValue] = [:]
    /// Flags of sitewall's table other than none ("dormant": the table filters nothing).
    public var tableFlags: [String] = []

    public init(policy: Policy?) { self.policy = policy }
}

extension String {
    /// Bytes from lower-case hex ("0a01" -> [10, 1]).
    var hexBytes: [UInt8] {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            func value(_ c: UInt8) -> UInt8 { c >= 97 ? c - 87 : (c >= 65 ? c - 55 : c - 48) }
            bytes.append(value(high) << 4 | value(low))
        }
        return bytes
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

extension RunningState {
    /// A saved ruleset that cannot be read.
    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    /// What runs for `target`: from a saved `nft -j list ruleset`, or else from this machine's kernel over
    /// netlink (foreign rules in nft's words). diff, stats and report read it the same way.
    public static func read(target: Target, site: String, savedRuleset file: String?) throws -> RunningState {
        guard let file else {
            return try NetlinkReadback.read(socket: NetlinkSocket(), target: target, site: site, nftSyntax: true)
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw Unreadable(description: "cannot read \(file)")
        }
        return try NftJSONReader.read(data, target: target, site: site)
    }
}

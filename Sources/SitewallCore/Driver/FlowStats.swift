/// `sitewall stats`: the named counters of a running table (`observe: counters`) mapped back to the flows
/// the site compiled them for: hits per flow, the flows never used since the counters started, and what
/// each chain (a gateway's forward chain per zone pair) dropped.
public struct FlowStats: Sendable, Codable {
    public struct Flow: Sendable, Codable {
        public var counter: String
        public var chain: String
        public var service: String?
        public var initiatorRoles: [String]?
        public var listenerRoles: [String]?
        public var fromZone: String?
        public var toZone: String?
        /// "ipv4" or "ipv6" (a flow has a rule per family).
        public var family: String?
        /// The rule as nft writes it.
        public var rule: String
        /// nil when the running table lacks this counter (the site changed since it was applied).
        public var packets: UInt64?
        public var bytes: UInt64?
    }

    public struct Drops: Sendable, Codable {
        public var counter: String
        public var chain: String
        /// The zone pair of a forward chain ("supervisory -> control"), else the chain.
        public var path: String
        public var packets: UInt64?
        public var bytes: UInt64?
    }

    public enum Failure: Error, CustomStringConvertible {
        case notObserving(String)
        case notLoaded(String)

        public var description: String {
            switch self {
            case .notObserving(let target):
                "the site does not count its flows for \(target): add 'observe: { counters: true }' to the site "
                    + "and apply it"
            case .notLoaded(let target):
                "table inet sitewall is not loaded here: apply \(target)'s rules first"
            }
        }
    }

    public var site: String
    public var target: String
    public var flows: [Flow]
    public var drops: [Drops]
    /// Counters the running table has that the site does not name (an older apply's).
    public var unknown: [String]

    public var used: [Flow] { flows.filter { ($0.packets ?? 0) > 0 } }
    public var unused: [Flow] { flows.filter { $0.packets == 0 } }
    public var missing: [Flow] { flows.filter { $0.packets == nil } }

    /// Maps the running counters onto the compiled policy's rules.
    public init(expected policy: Policy, running: RunningState) throws {
        guard policy.table.counters?.isEmpty == false else { throw Failure.notObserving("\(policy.target)") }
        guard running.policy != nil else { throw Failure.notLoaded("\(policy.target)") }
        site = policy.site
        target = "\(policy.target)"
        flows = []
        drops = []
        for chain in policy.table.chains {
            for rule in chain.rules {
                guard let name = rule.counter else { continue }
                let value = running.counters[name]
                if rule.origin?.kind == .drop {
                    let path = rule.origin?.toZone.map { "\(rule.origin?.fromZone ?? "?") -> \($0)" } ?? chain.name
                    drops.append(
                        Drops(
                            counter: name, chain: chain.name, path: path, packets: value?.packets, bytes: value?.bytes))
                } else {
                    var bare = rule
                    bare.comment = nil
                    let origin = rule.origin
                    flows.append(
                        Flow(
                            counter: name, chain: chain.name, service: origin?.service,
                            initiatorRoles: origin?.initiatorRoles, listenerRoles: origin?.listenerRoles,
                            fromZone: origin?.fromZone, toZone: origin?.toZone, family: rule.family?.rawValue,
                            rule: RuleSpelling.nft(bare),
                            packets: value?.packets, bytes: value?.bytes))
                }
            }
        }
        let named = Set(policy.table.counters ?? [])
        unknown = running.counters.keys.filter { !named.contains($0) }.sorted()
    }

    public var text: String {
        let hits = flows.filter { $0.packets != nil }
        var out =
            "\(target) of site \(site): \(flows.count) counted flow rules, \(used.count) used, \(unused.count) "
            + "not used since the counters started"
        let dropped = drops.filter { ($0.packets ?? 0) > 0 }
        out += "; drops in \(dropped.count) of \(drops.count) \(drops.count == 1 ? "place" : "places")\n"
        let number = { (value: UInt64?) -> String in
            let text = value.map(String.init) ?? "-"
            return String(repeating: " ", count: max(0, 10 - text.count)) + text
        }
        let describe = { (flow: Flow) -> String in
            let roles =
                (flow.initiatorRoles ?? []).joined(separator: ",") + " -> "
                + (flow.listenerRoles ?? []).joined(separator: ",")
            let zones = flow.fromZone.map { " (\($0) -> \(flow.toZone ?? "?"))" } ?? ""
            let family = flow.family.map { $0 == "ipv4" ? " IPv4" : " IPv6" } ?? ""
            return "\(flow.chain) \(flow.service ?? "?")\(family): \(roles)\(zones)"
        }
        if !used.isEmpty {
            out += "\n   packets      bytes  flow\n"
            for flow in used.sorted(by: { ($0.packets ?? 0) > ($1.packets ?? 0) }) {
                out += "\(number(flow.packets)) \(number(flow.bytes))  \(describe(flow))\n"
            }
        }
        if !unused.isEmpty {
            out += "\nnot used since the counters started (\(unused.count)):\n"
            for flow in unused { out += "  \(describe(flow))\n" }
        }
        if !dropped.isEmpty {
            out += "\n   packets      bytes  dropped\n"
            for drop in dropped.sorted(by: { ($0.packets ?? 0) > ($1.packets ?? 0) }) {
                let place = drop.path == drop.chain ? drop.chain : "\(drop.chain): \(drop.path)"
                out += "\(number(drop.packets)) \(number(drop.bytes))  \(place)\n"
            }
        }
        if hits.count < flows.count || drops.contains(where: { $0.packets == nil }) {
            let count = flows.count - hits.count + drops.filter { $0.packets == nil }.count
            out += "\n\(count) counters of the site are not in the running table: apply the site again\n"
        }
        if !unknown.isEmpty {
            out += "\n\(unknown.count) running counters the site does not name (left by an older apply)\n"
        }
        return out
    }
}

/// Decides what a chain does with the first packet of a new connection: the lockout guard's
/// question ("may the operator still connect?"), answered from the policy, before anything is applied.
public struct PolicyEvaluator {
    public struct Packet: Sendable {
        public var source: IPAddress
        public var destination: IPAddress
        public var transport: Transport
        public var sourcePort: UInt16
        public var destinationPort: UInt16
        public var inInterface: String?
        /// Where a forwarded packet leaves (a gateway's forward chain); nil: rules that name one do not match.
        public var outInterface: String?

        public init(
            source: IPAddress, destination: IPAddress, transport: Transport, sourcePort: UInt16,
            destinationPort: UInt16,
            inInterface: String? = nil, outInterface: String? = nil
        ) {
            self.outInterface = outInterface
            self.source = source
            self.destination = destination
            self.transport = transport
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
            self.inInterface = inInterface
        }
    }

    public let policy: Policy
    private let sets: [String: Set<IPAddress>]

    public init(policy: Policy) {
        self.policy = policy
        sets = Dictionary(uniqueKeysWithValues: policy.table.sets.map { ($0.name, Set($0.elements)) })
    }

    /// What decides a new connection in a chain: the first rule that matches it (its 0-based index
    /// and the rule), or the chain's policy when none does.
    public struct Decision: Sendable {
        public var verdict: Verdict
        public var index: Int?
        public var rule: Rule?
    }

    /// The verdict for a new connection in `chain` (its policy when no rule matches).
    public func verdict(_ packet: Packet, chain name: String) -> Verdict { decision(packet, chain: name).verdict }

    /// The verdict and the rule that gives it; a chain the policy lacks accepts (no hook, no filter).
    public func decision(_ packet: Packet, chain name: String) -> Decision {
        guard let chain = policy.table.chain(named: name) else { return Decision(verdict: .accept) }
        for (index, rule) in chain.rules.enumerated() where matches(rule, packet) {
            return Decision(verdict: rule.verdict, index: index, rule: rule)
        }
        return Decision(verdict: chain.policy == .accept ? .accept : .drop)
    }

    func matches(_ rule: Rule, _ packet: Packet) -> Bool {
        if let states = rule.ctState, !states.contains(.new) { return false }
        if rule.iif != nil || rule.oif != nil { return false }
        if let name = rule.iifname, name != packet.inInterface { return false }
        if let name = rule.oifname, name != packet.outInterface { return false }
        if let family = rule.family, family != packet.source.family { return false }
        if rule.icmpv6Types != nil { return false }
        // The first packet of a connection (a SYN) carries no payload to test, and has SYN set.
        if rule.payload != nil || rule.withoutSYN == true { return false }
        if let transport = rule.transport, transport != packet.transport { return false }
        // A rate limit passes the first packet (the bucket starts full).
        if let sport = rule.sport, !sport.contains(packet.sourcePort) { return false }
        if let dport = rule.dport, !dport.contains(packet.destinationPort) { return false }
        return contains(rule.saddr, packet.source) && contains(rule.daddr, packet.destination)
    }

    func contains(_ match: AddressMatch?, _ address: IPAddress) -> Bool {
        switch match {
        case nil: return true
        case .set(let name)?: return sets[name]?.contains(address) ?? false
        case .addresses(let list)?: return list.contains(address)
        case .network(let network)?: return network.contains(address)
        }
    }
}

/// `sitewall explain SITE --to HOST[:PORT]` (who can reach it) and `--from HOST[:PORT]` (what it can
/// reach): every allowed flow the host takes part in, each peer with the verdict the compiled rules give
/// its first packet on the path (the same evaluation as a forward `explain`), the flow's roles, site
/// line and vendor sources.
public struct Reachability: Sendable, Codable {
    public enum Direction: String, Sendable, Codable {
        /// Who can open connections to the host.
        case to
        /// Where the host can open connections.
        case from
    }

    public struct Peer: Sendable, Codable {
        public var host: String
        public var address: IPAddress
        public var zone: String
        /// The asked host's address this peer pairs with.
        public var via: IPAddress
        /// The verdict on the path for the flow's first port (an echo request for ICMP); nil: not evaluated.
        public var verdict: Verdict?
        /// Where a connection that the flow opens is dropped after all ("gateway gw-1 forward").
        public var droppedAt: String?
    }

    public struct Flow: Sendable, Codable {
        public var service: String
        public var transport: Transport
        public var ports: String
        public var sourcePorts: String?
        /// The asked host's addresses in the flow.
        public var addresses: [IPAddress]
        public var fromZone: String
        public var toZone: String
        public var initiatorRoles: [String]
        public var listenerRoles: [String]
        /// Modbus function codes or BACnet services the flow allows; nil: all.
        public var operations: String?
        /// The conduit (or, inside a zone, the listening host) the flow comes from.
        public var site: String?
        public var citations: [Citation]
        /// The hosts at the other end, sorted by address.
        public var peers: [Peer]

        func sameFlow(as other: Flow) -> Bool { identity == other.identity }

        private var identity: [String] {
            [
                service, transport.rawValue, ports, sourcePorts ?? "", fromZone, toZone, site ?? "",
                initiatorRoles.joined(separator: ","), listenerRoles.joined(separator: ","), operations ?? "",
            ]
        }
    }

    public var host: String
    public var direction: Direction
    public var port: UInt16?
    public var flows: [Flow]
    /// Allowed peers over all flows (one per peer address and flow).
    public var allowedCount: Int { flows.reduce(0) { $0 + $1.peers.filter { $0.verdict != .drop }.count } }
}

extension Explainer {
    /// The host's allowed flows in one direction (only those on `port`, when given), each peer checked
    /// against the compiled rules.
    public static func reachability(
        _ workspace: Workspace, host name: String, direction: Reachability.Direction, port: UInt16? = nil
    ) throws -> Reachability {
        let site = workspace.resolved
        guard let host = site.host(named: name) ?? hostWithAddress(site, name) else {
            throw Failure.unknownEndpoint(
                name, hint: DidYouMean.hint(for: name, among: site.hosts.map(\.name), kind: "host"))
        }
        let asked = site.host(named: name) == nil ? IPAddress(name) : nil
        let evaluators = Evaluators(workspace)
        var flows: [Reachability.Flow] = []
        for group in workspace.flows where group.allowed {
            // Asked by address: that address's flows only.
            let own = (direction == .to ? group.listeners : group.initiators).filter { member in
                member.host == host.name && (asked.map { $0 == member.address } ?? true)
            }
            guard !own.isEmpty, port.map(group.dports.contains) ?? true else { continue }
            let others = uniqueAddresses(direction == .to ? group.initiators : group.listeners)
            let mine = uniqueAddresses(own)
            for transport in group.service.transports {
                var peers: [Reachability.Peer] = []
                // A group pairs each of its initiators with each of its listeners (one family).
                for via in mine {
                    for other in others
                    where other.host != host.name && other.address.family == via.address.family {
                        let (source, destination) = direction == .to ? (other, via) : (via, other)
                        peers.append(
                            peer(
                                workspace, evaluators, source, destination, other: other, transport: transport,
                                port: transport == .icmp ? 0 : port ?? group.dports.ranges.first?.lower ?? 0,
                                sourcePort: group.sports?.ranges.first?.lower))
                    }
                }
                guard !peers.isEmpty else { continue }
                let flow = Reachability.Flow(
                    service: group.service.id, transport: transport,
                    ports: transport == .icmp ? "echo" : "\(group.dports)",
                    sourcePorts: group.sports.map(\.description),
                    addresses: mine.map(\.address), fromZone: group.fromZone, toZone: group.toZone,
                    initiatorRoles: group.initiatorRoles, listenerRoles: group.listenerRoles,
                    operations: group.operations.map(\.description), site: group.location?.description,
                    citations: group.citations, peers: peers)
                // The same flow in the other address family: one entry with both families' peers.
                if let same = flows.firstIndex(where: { $0.sameFlow(as: flow) }) {
                    flows[same].addresses += flow.addresses
                    flows[same].peers += flow.peers
                } else {
                    flows.append(flow)
                }
            }
        }
        flows.sort {
            ($0.service, $0.transport, $0.ports, $0.fromZone, $0.toZone, $0.site ?? "")
                < ($1.service, $1.transport, $1.ports, $1.fromZone, $1.toZone, $1.site ?? "")
        }
        return Reachability(host: host.name, direction: direction, port: port, flows: flows)
    }

    static func hostWithAddress(_ site: ResolvedSite, _ text: String) -> ResolvedHost? {
        guard let address = IPAddress(text) else { return nil }
        return site.hosts.first { $0.addresses.contains { $0.address == address } }
    }

    /// One entry per address, in address order (a group lists a host once per address it pairs with).
    static func uniqueAddresses(_ members: some Sequence<HostAddress>) -> [HostAddress] {
        var seen = Set<IPAddress>()
        return members.sorted().filter { seen.insert($0.address).inserted }
    }

    static func peer(
        _ workspace: Workspace, _ evaluators: Evaluators, _ source: HostAddress, _ destination: HostAddress,
        other: HostAddress, transport: Transport, port: UInt16, sourcePort: UInt16?
    ) -> Reachability.Peer {
        let via = other == source ? destination : source
        var result = Reachability.Peer(host: other.host, address: other.address, zone: other.zone, via: via.address)
        guard [.tcp, .udp, .icmp].contains(transport) else { return result }
        let endpoint = { (member: HostAddress) in
            Explanation.Endpoint(host: member.host, address: member.address, zone: member.zone)
        }
        let explanation = explain(
            workspace, evaluators, endpoint(source), endpoint(destination), transport: transport, port: port,
            sourcePort: sourcePort)
        result.verdict = explanation.verdict
        if let step = explanation.steps.first(where: { $0.verdict == .drop }) {
            result.droppedAt = "\(step.target) \(step.chain)"
        }
        return result
    }
}

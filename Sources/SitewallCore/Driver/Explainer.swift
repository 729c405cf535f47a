/// `sitewall explain`: what each enforcement point on a connection's path does with its first packet
/// (the sender's output, the gateway's forward, the receiver's input), the rule that decides, the flow
/// and vendor source behind it, and, when it is dropped, what would allow it. Answers come from the
/// compiled policies through the evaluator the lockout guard uses, so they say what the rules do.
public struct Explanation: Sendable, Codable {
    public struct Endpoint: Sendable, Codable {
        /// The site's host with this address; nil for an address outside the site's hosts.
        public var host: String?
        public var address: IPAddress
        public var zone: String?
    }

    public struct Step: Sendable, Codable {
        /// "host pac-1" or "gateway gw-1".
        public var target: String
        public var chain: String
        public var verdict: Verdict
        /// 1-based position in the chain; nil when the chain's policy decides.
        public var rule: Int?
        public var ruleText: String?
        public var comment: String?
        public var service: String?
        public var initiatorRoles: [String]?
        public var listenerRoles: [String]?
        public var citations: [Citation]?
        /// The conduit or listening host the flow comes from, as file:line:column.
        public var site: String?
    }

    public var from: Endpoint
    public var to: Endpoint
    public var transport: Transport
    public var sourcePort: UInt16
    public var port: UInt16
    public var verdict: Verdict
    public var steps: [Step]
    /// What would allow a dropped connection.
    public var hints: [String]
    /// What else the answer rests on (a path between zones that no gateway of the site filters).
    public var notes: [String]
}

public enum Explainer {
    public enum Failure: Error, CustomStringConvertible {
        case unknownEndpoint(String, hint: String)
        case families(String, String)

        public var description: String {
            switch self {
            case .unknownEndpoint(let text, let hint): "'\(text)' is neither a host of the site nor an address: \(hint)"
            case .families(let from, let to): "\(from) and \(to) have no addresses of one family"
            }
        }
    }

    /// The ephemeral source port a client uses when none is given.
    public static let defaultSourcePort: UInt16 = 40000

    public static func explain(
        _ workspace: Workspace, from: String, to: String, transport: Transport, port: UInt16,
        sourcePort: UInt16? = nil
    ) throws -> Explanation {
        let (source, destination) = try endpoints(workspace.resolved, from, to)
        return explain(
            workspace, Evaluators(workspace), source, destination, transport: transport, port: port,
            sourcePort: sourcePort)
    }

    /// Each target's evaluator built once, for answers that cross many paths (`explain --to`).
    final class Evaluators {
        let workspace: Workspace
        private var built: [Target: PolicyEvaluator] = [:]

        init(_ workspace: Workspace) { self.workspace = workspace }

        func callAsFunction(_ target: Target) -> PolicyEvaluator {
            if let known = built[target] { return known }
            let evaluator = PolicyEvaluator(policy: workspace.policy(for: target))
            built[target] = evaluator
            return evaluator
        }
    }

    static func explain(
        _ workspace: Workspace, _ evaluators: Evaluators, _ source: Explanation.Endpoint,
        _ destination: Explanation.Endpoint, transport: Transport, port: UInt16, sourcePort: UInt16?
    ) -> Explanation {
        let site = workspace.resolved
        let packet = PolicyEvaluator.Packet(
            source: source.address, destination: destination.address, transport: transport,
            sourcePort: sourcePort ?? defaultSourcePort, destinationPort: port)
        var steps: [Explanation.Step] = []
        var notes: [String] = []
        let sender = source.host.flatMap { site.host(named: $0) }
        let receiver = destination.host.flatMap { site.host(named: $0) }
        if let sender {
            var out = packet
            out.outInterface = destination.zone.flatMap { sender.interfaces?[$0] }
            steps.append(step(evaluators, sender, chain: "output", out))
        }
        if let fromZone = source.zone, let toZone = destination.zone, fromZone != toZone,
            sender?.isGateway != true, receiver?.isGateway != true
        {
            if let gateway = site.gateway(joining: fromZone, toZone) {
                var forwarded = packet
                forwarded.inInterface = gateway.interfaces?[fromZone]
                forwarded.outInterface = gateway.interfaces?[toZone]
                steps.append(step(evaluators, gateway, chain: "forward", forwarded))
            } else {
                notes.append(
                    "no gateway of the site joins '\(fromZone)' and '\(toZone)': "
                        + "only the hosts' own rules filter this path"
                )
            }
        }
        if let receiver {
            var incoming = packet
            incoming.inInterface = source.zone.flatMap { receiver.interfaces?[$0] }
            steps.append(step(evaluators, receiver, chain: "input", incoming))
        }
        let verdict: Verdict = steps.allSatisfy { $0.verdict == .accept } ? .accept : .drop
        // The connection opens; what it may carry is filtered segment by segment (verify sends the operations).
        if verdict == .accept,
            let filtered = flowGroups(workspace, source, destination, transport: transport, port: port)
                .first(where: { $0.allowed && $0.operations != nil })
        {
            notes.append(
                "the connection opens, but \(filtered.service.id) allows only \(filtered.operations!) on it: "
                    + "other operations are dropped segment by segment")
        }
        let hints =
            verdict == .drop ? whatWouldAllow(workspace, source, destination, transport: transport, port: port) : []
        return Explanation(
            from: source, to: destination, transport: transport, sourcePort: packet.sourcePort, port: port,
            verdict: verdict, steps: steps, hints: hints, notes: notes)
    }

    /// A host name or an address on each side, in one family (a host's first address of it).
    static func endpoints(_ site: ResolvedSite, _ from: String, _ to: String) throws -> (
        Explanation.Endpoint, Explanation.Endpoint
    ) {
        let sources = try candidates(site, from)
        let destinations = try candidates(site, to)
        for family in [IPFamily.ipv4, .ipv6] {
            if let source = sources.first(where: { $0.address.family == family }),
                let destination = destinations.first(where: { $0.address.family == family })
            {
                return (source, destination)
            }
        }
        throw Failure.families(from, to)
    }

    static func candidates(_ site: ResolvedSite, _ text: String) throws -> [Explanation.Endpoint] {
        if let host = site.host(named: text) {
            return host.addresses.map { Explanation.Endpoint(host: host.name, address: $0.address, zone: $0.zone) }
        }
        guard let address = IPAddress(text) else {
            throw Failure.unknownEndpoint(
                text, hint: DidYouMean.hint(for: text, among: site.hosts.map(\.name), kind: "host"))
        }
        if let host = hostWithAddress(site, text), let own = host.addresses.first(where: { $0.address == address }) {
            return [Explanation.Endpoint(host: host.name, address: address, zone: own.zone)]
        }
        return [Explanation.Endpoint(host: nil, address: address, zone: SiteResolver.zone(of: address, in: site.zones))]
    }

    static func step(
        _ evaluators: Evaluators, _ host: ResolvedHost, chain: String, _ packet: PolicyEvaluator.Packet
    ) -> Explanation.Step {
        let target = Target(kind: host.isGateway ? .gateway : .host, name: host.name)
        let decision = evaluators(target).decision(packet, chain: chain)
        let origin = decision.rule?.origin
        return Explanation.Step(
            target: "\(target)", chain: chain, verdict: decision.verdict, rule: decision.index.map { $0 + 1 },
            ruleText: decision.rule.map { RuleSpelling.nft($0) }, comment: decision.rule?.comment,
            service: origin?.service, initiatorRoles: origin?.initiatorRoles, listenerRoles: origin?.listenerRoles,
            citations: origin?.citations, site: origin?.location.map(\.description))
    }

    /// The flow groups (allowed or not) of this transport and port that pair these two addresses.
    static func flowGroups(
        _ workspace: Workspace, _ source: Explanation.Endpoint, _ destination: Explanation.Endpoint,
        transport: Transport, port: UInt16
    ) -> [FlowGroup] {
        workspace.flows.filter { group in
            group.service.transports.contains(transport) && (transport == .icmp || group.dports.contains(port))
                && group.initiators.contains { $0.address == source.address }
                && group.listeners.contains { $0.address == destination.address }
        }
    }

    /// For a dropped connection: the flow groups of the port between the two sides that are not
    /// opened (a conduit to add), or the services on that port and who offers them (a role to give).
    static func whatWouldAllow(
        _ workspace: Workspace, _ source: Explanation.Endpoint, _ destination: Explanation.Endpoint,
        transport: Transport, port: UInt16
    ) -> [String] {
        var hints: [String] = []
        let matching = flowGroups(workspace, source, destination, transport: transport, port: port)
        for group in matching where !group.allowed {
            hints.append(
                "the roles imply \(group.service.id) from '\(group.fromZone)' to '\(group.toZone)', but no conduit "
                    + "carries it: add '- { from: \(group.fromZone), to: \(group.toZone), "
                    + "services: [\(group.service.id)] }' "
                    + "to conduits")
        }
        if matching.isEmpty {
            let services = workspace.catalog.services.values.filter {
                $0.transports.contains(transport) && (transport == .icmp || ($0.ports?.contains(port) ?? false))
            }.map(\.id).sorted()
            let name = { (end: Explanation.Endpoint) in end.host.map { "'\($0)'" } ?? "\(end.address)" }
            let site = workspace.resolved
            let sender = source.host.flatMap { site.host(named: $0) }
            let receiver = destination.host.flatMap { site.host(named: $0) }
            for id in services {
                let use = sender?.uses[id]
                let offer = receiver?.offers[id]
                if let use, offer != nil, let peers = use.peers, let peer = receiver?.name, !peers.contains(peer) {
                    hints.append(
                        "\(name(source)) names the peers it uses \(id) with"
                            + (use.narrowedAt.map { " (\($0))" } ?? "") + ", and \(name(destination)) is not one: "
                            + "add it there if it should be")
                } else if use != nil, offer == nil, receiver != nil {
                    hints.append("no role of \(name(destination)) offers \(id): give it one that does")
                } else if use == nil, offer != nil, sender != nil {
                    hints.append("no role of \(name(source)) uses \(id): give it one that does")
                }
            }
            if services.isEmpty {
                hints.append(
                    "no profile has a service on \(transport == .icmp ? "icmp" : "\(transport.rawValue)/\(port)"): "
                        + "it is not a flow sitewall opens")
            } else if hints.isEmpty {
                hints.append(
                    "no role of \(name(source)) uses, and of \(name(destination)) offers, a service on "
                        + "\(transport.rawValue)/\(port) (\(services.joined(separator: ", "))): "
                        + "give them roles that do "
                        + "('sitewall profiles' lists them)")
            }
        }
        return hints
    }
}

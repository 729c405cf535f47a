/// Chooses the probes for a site: every allowed flow (a sample of its host pairs), and around it
/// what must stay closed: neighbouring ports, the reverse direction, flows without a conduit,
/// loopback-only and never-open ports. Expectations come from the flows, not from the rules.
public struct ProbePlanner {
    public let site: ResolvedSite
    public let flows: [FlowGroup]
    /// How many host pairs of one flow group to probe.
    public var pairsPerGroup = 4

    private let allowed: [(group: FlowGroup, from: Set<IPAddress>, to: Set<IPAddress>)]

    /// Rule-free stations, one per zone (LabPlan.probeAddresses): probes from them test a host's input alone.
    public var stations: [HostAddress]

    public init(site: ResolvedSite, flows: [FlowGroup], stations: [HostAddress] = []) {
        self.site = site
        self.flows = flows
        self.stations = stations
        allowed = flows.filter(\.allowed).map {
            ($0, Set($0.initiators.map(\.address)), Set($0.listeners.map(\.address)))
        }
    }

    /// What the site allows, whatever the rules say.
    public func expectation(from: IPAddress, to: IPAddress, transport: Transport, sport: UInt16?, dport: UInt16)
        -> Verdict
    {
        for (group, sources, destinations) in allowed
        where group.service.transports.contains(transport)
            && (transport == .icmp || group.dports.contains(dport))
            && destinations.contains(to)
            && (sources.contains(from) || unaddressedFromStation(group, from: from, to: to))
        {
            if let required = group.sports {
                guard let sport, required.contains(sport) else { continue }
            }
            return .accept
        }
        return .drop
    }

    /// DHCP requests come from hosts with no address yet, so the server takes them from anyone on
    /// its link; a managed host still needs its own output rule, and no router forwards them.
    func unaddressedFromStation(_ group: FlowGroup, from: IPAddress, to: IPAddress) -> Bool {
        guard group.service.unaddressedInitiator, let station = stations.first(where: { $0.address == from }) else {
            return false
        }
        return group.listeners.contains { $0.address == to && $0.zone == station.zone }
    }

    /// The gateway that joins two zones, or nil inside one zone; `.none` when no gateway does.
    func enforcement(from: HostAddress, to: HostAddress) -> String? {
        if from.zone == to.zone { return "host \(to.host)" }
        if LabPlan.needsImplicitRouter(site) { return "host \(to.host)" }
        guard let gateway = site.gateway(joining: from.zone, to.zone) else { return nil }
        return "\(gateway.name) forward \(from.zone) -> \(to.zone)"
    }

    /// An allowed flow group no probe can prove, and why: `verify` lists these and fails unless told.
    public func unprobed() -> [UnprobedFlow] { unprobed(given: plan()) }

    /// The same, from a plan already made (verify plans once).
    public func unprobed(given probes: [Probe]) -> [UnprobedFlow] {
        let probed = Set(probes.filter { $0.reason == "flow" }.map { "\($0.fromAddress)|\($0.toAddress)" })
        var result: [UnprobedFlow] = []
        for group in flows where group.allowed {
            let pairs = samplePairs(group)
            if pairs.contains(where: { probed.contains("\($0.0.address)|\($0.1.address)") }) { continue }
            let why: String
            if group.crossesZones && group.service.unaddressedInitiator {
                why = "its requests are broadcasts from hosts with no address yet, which no router forwards"
            } else if pairs.isEmpty {
                why = "its only initiator and listener are one host (loopback)"
            } else if pairs.allSatisfy({ enforcement(from: $0.0, to: $0.1) == nil }) {
                why = "no gateway of the site joins '\(group.fromZone)' and '\(group.toZone)', so the lab has no path"
            } else {
                why = "no probe fits its ports"
            }
            result.append(UnprobedFlow(flow: group.summary, reason: why))
        }
        return result
    }

    public func plan() -> [Probe] {
        var probes: [Probe] = []
        var seen = Set<String>()
        // The wrapping of the group being planned (BACnet requests for a service a filter can read).
        var framing: Framing?
        func add(
            _ from: HostAddress, _ to: HostAddress, _ transport: Transport, sport: UInt16?, dport: UInt16,
            helper: ConntrackHelper?, service: String?, reason: String, delivery: Delivery? = nil,
            expecting: Verdict? = nil
        ) {
            guard from.host != to.host, from.address.family == to.address.family, dport > 0 || transport == .icmp,
                let point = enforcement(from: from, to: to)
            else { return }
            let key = "\(from.address)|\(to.address)|\(transport)|\(sport ?? 0)|\(dport)|\(delivery?.reason ?? "")"
            guard seen.insert(key).inserted else { return }
            let expected =
                expecting
                ?? expectation(from: from.address, to: to.address, transport: transport, sport: sport, dport: dport)
            probes.append(
                Probe(
                    id: probes.count, from: from.host, fromAddress: from.address, to: to.host, toAddress: to.address,
                    transport: transport, sport: sport, dport: dport, helper: expected == .accept ? helper : nil,
                    expected: expected, service: service, reason: reason, enforcement: point, delivery: delivery,
                    framing: framing))
        }

        // Requests from hosts with no address are not routed: such a group cannot be probed across zones.
        for group in flows where group.allowed && !(group.crossesZones && group.service.unaddressedInitiator) {
            framing = group.service.operations == .bacnet ? .bacnet : nil
            for transport in group.service.transports {
                if transport == .icmp {
                    echoProbes(group) { add($0, $1, $2, sport: $3, dport: $4, helper: $5, service: $6, reason: $7) }
                    continue
                }
                let helper = group.service.helper?.transport == transport ? group.service.helper : nil
                let sport = group.sports?.ranges.first?.lower
                var ports = [group.dports.ranges[0].lower]
                if let last = group.dports.ranges.last?.upper, last != ports[0] { ports.append(last) }
                for (from, to) in samplePairs(group) {
                    for dport in ports {
                        add(
                            from, to, transport, sport: sport, dport: dport, helper: helper, service: group.service.id,
                            reason: "flow")
                    }
                    for dport in [ports[0] &- 1, (ports.last ?? ports[0]) &+ 1] where dport > 0 {
                        add(
                            from, to, transport, sport: sport, dport: dport, helper: nil, service: nil,
                            reason: "neighbouring port")
                    }
                    // A station of the listener's zone, which no rule names, may not reach the port.
                    if let station = station(zone: to.zone, family: to.address.family) {
                        add(
                            station, to, transport, sport: sport, dport: ports[0], helper: nil, service: nil,
                            reason: "unlisted host")
                    }
                    // A host of another zone that does not take part in the flow tries the same port.
                    if let outsider = outsider(for: to, excluding: group) {
                        add(
                            outsider, to, transport, sport: sport, dport: ports[0], helper: nil, service: nil,
                            reason: "other zone")
                    }
                    // With sport == dport the reverse packet is the forward flow's reply tuple: conntrack
                    // rightly lets it in, so it tells nothing about the rules.
                    if sport != ports[0] {
                        add(
                            to, from, transport, sport: sport, dport: ports[0], helper: nil, service: nil,
                            reason: "reverse direction")
                    }
                }
                // What the protocol does beyond a unicast request: each listener must answer by itself.
                for (from, to) in samplePairs(group) {
                    for delivery in deliveries(group, transport: transport, from: from, to: to) {
                        add(
                            from, to, transport, sport: sport, dport: ports[0], helper: helper,
                            service: group.service.id, reason: delivery.reason, delivery: delivery)
                    }
                }
                // Operations: what a filter lets through and what it stops; an unfiltered use may write.
                if group.service.operations == .modbus, let (from, to) = samplePairs(group).first {
                    for request in ModbusRequest.allCases {
                        // A split write the filter allows may be rejoined by TCP's retransmission: no fixed answer.
                        if request == .splitWrite
                            && (group.operations == nil || ModbusRequest.write.passes(group.operations))
                        {
                            continue
                        }
                        if group.operations == nil && request != .write { continue }
                        let delivery = Delivery.modbus(request)
                        add(
                            from, to, transport, sport: sport, dport: ports[0], helper: nil, service: group.service.id,
                            reason: delivery.reason, delivery: delivery,
                            expecting: request.passes(group.operations) ? .accept : .drop)
                    }
                }
                if group.service.operations == .bacnet, let (from, to) = samplePairs(group).first {
                    for request in BACnetRequest.allCases where group.operations != nil || request == .writeProperty {
                        let delivery = Delivery.bacnet(request)
                        add(
                            from, to, transport, sport: sport, dport: ports[0], helper: nil, service: group.service.id,
                            reason: delivery.reason, delivery: delivery,
                            expecting: request.passes(group.operations) ? .accept : .drop)
                    }
                }
                // Named peers: an initiator reaches only those, not another host that offers the service.
                if group.narrowed, let from = group.initiators.first,
                    let other = notAPeer(of: from, in: group, transport: transport)
                {
                    add(
                        from, other, transport, sport: sport, dport: ports[0], helper: nil, service: nil,
                        reason: "not its peer")
                }
                if group.service.unaddressedInitiator, transport == .udp {
                    // A DISCOVER before any lease, from the rule-free station of each listener's zone.
                    for to in Array(Set(group.listeners)).sorted().prefix(pairsPerGroup) {
                        guard let station = station(zone: to.zone, family: .ipv4),
                            let answer = broadcast(of: to)
                        else { continue }
                        let delivery = Delivery.unaddressed(answerTo: answer)
                        add(
                            station, to, transport, sport: sport, dport: ports[0], helper: nil,
                            service: group.service.id, reason: delivery.reason, delivery: delivery)
                    }
                }
            }
        }
        for group in flows where !group.allowed {
            framing = group.service.operations == .bacnet ? .bacnet : nil
            for transport in group.service.transports {
                if let (from, to) = samplePairs(group).first {
                    add(
                        from, to, transport, sport: group.sports?.ranges.first?.lower,
                        dport: group.dports.ranges.first?.lower ?? 0,
                        helper: nil, service: group.service.id, reason: "no conduit")
                }
            }
        }
        framing = nil
        for host in site.hosts {
            // From the zone's station when there is one, so that only this host's input decides.
            guard let target = host.addresses.first,
                let peer = station(zone: target.zone, family: target.address.family)
                    ?? site.hosts.lazy.filter({ $0.name != host.name }).flatMap(\.addresses)
                    .first(where: { $0.zone == target.zone && $0.address.family == target.address.family })
            else { continue }
            for offered in host.offers.values where offered.service.scope == .loopback {
                for transport in offered.service.transports {
                    add(
                        peer, target, transport, sport: nil, dport: offered.ports.ranges.first?.lower ?? 0, helper: nil,
                        service: offered.service.id, reason: "loopback only")
                }
            }
            for profile in Set(host.roles.map(\.profileName)).sorted() {
                for constraint in site.catalog.profile(named: profile)?.constraints ?? [] {
                    guard case .neverOpen = constraint.kind else { continue }
                    for transport in constraint.transports {
                        for range in constraint.ports.ranges {
                            add(
                                peer, target, transport, sport: nil, dport: range.lower, helper: nil, service: nil,
                                reason: "never open (\(profile))")
                        }
                    }
                }
            }
            // A port nothing offers: discard (9). A ping, which only an ICMP echo role opens.
            add(peer, target, .tcp, sport: nil, dport: 9, helper: nil, service: nil, reason: "closed port")
            add(peer, target, .icmp, sport: nil, dport: 0, helper: nil, service: nil, reason: "ping")
        }
        return probes
    }

    /// ICMP echo: the flow, an unlisted host and another zone, and the reverse direction.
    private func echoProbes(
        _ group: FlowGroup,
        add: (
            _ from: HostAddress, _ to: HostAddress, _ transport: Transport, _ sport: UInt16?, _ dport: UInt16,
            _ helper: ConntrackHelper?, _ service: String?, _ reason: String
        ) -> Void
    ) {
        for (from, to) in samplePairs(group) {
            add(from, to, .icmp, nil, 0, nil, group.service.id, "flow")
            if let station = station(zone: to.zone, family: to.address.family) {
                add(station, to, .icmp, nil, 0, nil, nil, "unlisted host")
            }
            if let outsider = outsider(for: to, excluding: group) {
                add(outsider, to, .icmp, nil, 0, nil, nil, "other zone")
            }
            add(to, from, .icmp, nil, 0, nil, nil, "reverse direction")
        }
    }

    /// The directed broadcast of the listener's network.
    func broadcast(of member: HostAddress) -> IPAddress? {
        site.zone(named: member.zone)?.networks.first { $0.contains(member.address) }?.broadcast
    }

    /// The special deliveries a pair of a group gets: a broadcast inside the zone, a multicast group
    /// of the service's scope, FTP data connections in both modes.
    func deliveries(_ group: FlowGroup, transport: Transport, from: HostAddress, to: HostAddress) -> [Delivery] {
        var result: [Delivery] = []
        let service = group.service
        if transport == .udp, from.zone == to.zone, !service.unaddressedInitiator {
            if service.broadcast, let address = broadcast(of: to) { result.append(.broadcast(address)) }
            if let scope = service.multicast, to.address.family == .ipv4 {
                result.append(.multicast(IPAddress(family: .ipv4, value: scope.address.value + 257)))
            }
        }
        if transport == .tcp, service.helper == .ftp, to.address.family == .ipv4 {
            result += [.ftp(passive: true), .ftp(passive: false)]
        }
        return result
    }

    /// A host that offers the group's service on its port, in the family, but is none of its listeners.
    func notAPeer(of from: HostAddress, in group: FlowGroup, transport: Transport) -> HostAddress? {
        let listeners = Set(group.listeners.map(\.host))
        for host in site.hosts where !listeners.contains(host.name) && host.name != from.host {
            guard let offered = host.offers[group.service.id], offered.ports == group.dports else { continue }
            if let address = host.addresses.first(where: {
                $0.address.family == from.address.family && enforcement(from: from, to: $0) != nil
            }) {
                return address
            }
        }
        return nil
    }

    func station(zone: String, family: IPFamily) -> HostAddress? {
        stations.first { $0.zone == zone && $0.address.family == family }
    }

    /// A host in another zone, reachable through a gateway, that is not an initiator of the group.
    func outsider(for target: HostAddress, excluding group: FlowGroup) -> HostAddress? {
        let initiators = Set(group.initiators.map(\.host))
        for host in site.hosts where !host.isGateway && !initiators.contains(host.name) && host.name != target.host {
            for address in host.addresses
            where address.zone != target.zone && address.address.family == target.address.family
                && enforcement(from: address, to: target) != nil
            {
                return address
            }
        }
        return nil
    }

    /// Up to `pairsPerGroup` pairs, so that each sampled initiator and listener takes part.
    func samplePairs(_ group: FlowGroup) -> [(HostAddress, HostAddress)] {
        let from = group.initiators
        let to = group.listeners
        guard !from.isEmpty, !to.isEmpty else { return [] }
        var pairs: [(HostAddress, HostAddress)] = []
        let count = min(max(from.count, to.count), pairsPerGroup)
        var k = 0
        // Skip pairs of a host with itself (loopback), trying a few offsets.
        while pairs.count < count && k < count * 4 {
            let a = from[k % from.count]
            let b = to[(k + k / max(from.count, to.count)) % to.count]
            if a.host != b.host && !pairs.contains(where: { $0.0 == a && $0.1 == b }) { pairs.append((a, b)) }
            k += 1
        }
        return pairs
    }
}

/// A flow the site allows that `verify` could not send a packet for.
public struct UnprobedFlow: Sendable, Codable, Hashable {
    public var flow: String
    public var reason: String
}

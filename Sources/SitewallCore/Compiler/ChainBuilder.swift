/// Collects the flow rules of one host or gateway, merging flows that differ only in addresses,
/// so that a chain has one rule per service and port, with the addresses in sets.
struct ChainBuilder {
    let site: ResolvedSite
    let host: ResolvedHost
    var namer = SetNamer()

    private struct Key: Hashable {
        var hook: Hook
        var kind: RuleOrigin.Kind
        var service: String
        var transport: Transport
        var family: IPFamily
        var sport: PortSet?
        var dport: PortSet?
        var helper: ConntrackHelper?
        var limit: RateLimit?
        var iifname: String?
        var oifname: String?
        /// This host's own addresses, matched only when it has several of the family.
        var local: [IPAddress]?
        /// An output rule to the service's multicast scope instead of to the listeners.
        var multicastScope: IPNetwork?
        /// For forward rules, which zones (so that each zone pair keeps its own sets).
        var fromZone: String?
        var toZone: String?
        /// The operations the initiators are held to (their rules are apart from unfiltered ones).
        var operations: OperationFilter?
        /// A narrowed group's own index (forward rules): its sources pair only with its destinations.
        var narrowing: Int?
    }

    private struct Accumulator {
        /// Addresses as they come (repeats too): the set namer sorts and dedups them once, cheaper than hashing.
        var sources: [IPAddress] = []
        var destinations: [IPAddress] = []
        var anySource = false
        /// IGMP reports go to the groups joined and to 224.0.0.22: no destination match.
        var anyDestination = false
        var origin: RuleOrigin
    }

    private var order: [Key] = []
    private var accumulators: [Key: Accumulator] = [:]
    /// Per hook, the operation filters' rules, built with the flow rules by `rules(for:)`: they go
    /// before the established-connection accept, so that every segment is checked.
    private(set) var screens: [Hook: [Rule]] = [:]

    init(site: ResolvedSite, host: ResolvedHost) {
        self.site = site
        self.host = host
    }

    private mutating func add(_ key: Key, origin: RuleOrigin, _ update: (inout Accumulator) -> Void) {
        if accumulators[key] == nil {
            order.append(key)
            accumulators[key] = Accumulator(origin: origin)
        }
        update(&accumulators[key]!)
        var merged = accumulators[key]!.origin
        merged.initiatorRoles = FlowDeriver.uniqued((merged.initiatorRoles ?? []) + (origin.initiatorRoles ?? []))
        merged.listenerRoles = FlowDeriver.uniqued((merged.listenerRoles ?? []) + (origin.listenerRoles ?? []))
        merged.citations = FlowDeriver.uniqued((merged.citations ?? []) + (origin.citations ?? []))
        accumulators[key]!.origin = merged
    }

    /// Broadcast destinations an initiator in `zone` may send to.
    private func broadcastAddresses(zone: String, family: IPFamily) -> [IPAddress] {
        guard family == .ipv4 else { return [] }
        let directed = site.zone(named: zone)?.networks.compactMap(\.broadcast) ?? []
        return directed + [IPAddress.limitedBroadcast]
    }

    private func ownAddresses(in members: MemberList, family: IPFamily) -> [IPAddress]? {
        let all = host.addresses.filter { $0.address.family == family }
        guard all.count > 1 else { return nil }
        return members.filter { $0.host == host.name }.map(\.address).sorted()
    }

    /// What a host with several addresses receives a broadcast service on: its own addresses in the
    /// zone and the zone's broadcasts (a DHCP DISCOVER, a BACnet Who-Is). nil: no address match at all.
    private func receiving(_ service: Service, in members: MemberList, zone: String, family: IPFamily)
        -> [IPAddress]?
    {
        // A multicast group is no address of the host's own.
        if service.multicast != nil { return nil }
        guard var own = ownAddresses(in: members, family: family) else { return nil }
        if service.broadcast { own += broadcastAddresses(zone: zone, family: family) }
        return own
    }

    /// What a host with several addresses sends a service from: its own addresses, and 0.0.0.0 when it
    /// may have none yet (a DHCP client before its lease). nil: no address match at all.
    private func sending(_ service: Service, in members: MemberList, family: IPFamily) -> [IPAddress]? {
        guard var own = ownAddresses(in: members, family: family) else { return nil }
        if service.unaddressedInitiator && family == .ipv4 { own.insert(.unspecifiedIPv4, at: 0) }
        return own
    }

    /// On a gateway, a broadcast is received on the interface of the zone it was sent in.
    private func broadcastInterface(_ service: Service, zone: String) -> String? {
        service.broadcast ? host.interfaces?[zone] : nil
    }

    /// Adds a group's rules; `isListener` and `isInitiator` say which side this host is on (the
    /// compiler knows it from its index, without scanning the group's members).
    mutating func add(_ group: FlowGroup, index: Int, isListener: Bool, isInitiator: Bool) {
        let service = group.service
        let origin = RuleOrigin(
            kind: .flow, service: service.id, initiatorRoles: group.initiatorRoles,
            listenerRoles: group.listenerRoles, fromZone: group.fromZone, toZone: group.toZone,
            citations: group.citations, location: group.location,
            serviceLocation: service.location)
        var reply = origin
        reply.kind = .reply
        // Peer flows already run both ways; only client/server broadcasts need reply rules.
        let needsReplies = service.broadcast && service.initiation == .client
        // A DHCP relay speaks from, and is answered at, its address in the clients' zone (giaddr), not
        // its address toward the server: any address of the initiator, and answers are new to conntrack.
        let answersAnywhere = service.answersEveryAddress
        let initiatorEveryAddress =
            answersAnywhere
            ? FlowDeriver.uniqued(group.initiators.map(\.host)).flatMap { name in
                (site.host(named: name)?.addresses ?? []).map(\.address).filter { $0.family == group.family }
            } : []
        let initiatorAddresses = group.initiators.map(\.address)
        // ICMP echo has no ports.
        let dports = group.dports.isEmpty ? nil : group.dports
        let listenerAddresses = group.listeners.map(\.address)

        for transport in service.transports {
            let helper = service.helper?.transport == transport ? service.helper : nil
            if isListener {
                let key = Key(
                    hook: .input, kind: .flow, service: service.id, transport: transport, family: group.family,
                    sport: group.sports, dport: dports, helper: helper, limit: service.limit,
                    iifname: broadcastInterface(service, zone: group.toZone),
                    local: receiving(service, in: group.listeners, zone: group.toZone, family: group.family),
                    operations: group.operations)
                add(key, origin: origin) { acc in
                    if service.unaddressedInitiator {
                        acc.anySource = true
                    } else {
                        acc.sources.append(contentsOf: answersAnywhere ? initiatorEveryAddress : initiatorAddresses)
                    }
                }
                if service.multicast != nil && group.family == .ipv4 {
                    // Joining the group: without its IGMP reports a snooping switch stops forwarding it.
                    let key = Key(
                        hook: .output, kind: .flow, service: service.id, transport: .igmp, family: .ipv4)
                    add(key, origin: origin) { $0.anyDestination = true }
                }
                if needsReplies || answersAnywhere {
                    // The answer to a broadcast request is NEW to conntrack: let it out explicitly.
                    let key = Key(
                        hook: .output, kind: .reply, service: service.id, transport: transport, family: group.family,
                        sport: group.dports, dport: group.sports,
                        local: ownAddresses(in: group.listeners, family: group.family))
                    let targets =
                        answersAnywhere
                        ? initiatorEveryAddress
                        : initiatorAddresses + broadcastAddresses(zone: group.fromZone, family: group.family)
                    add(key, origin: reply) { $0.destinations.append(contentsOf: targets) }
                }
            }
            if isInitiator {
                let key = Key(
                    hook: .output, kind: .flow, service: service.id, transport: transport, family: group.family,
                    // The rate limit protects the listener (its input, the gateway forward), not the sender.
                    sport: group.sports, dport: dports, helper: helper,
                    local: answersAnywhere ? nil : sending(service, in: group.initiators, family: group.family),
                    operations: group.operations)
                let targets =
                    listenerAddresses
                    + (service.broadcast ? broadcastAddresses(zone: group.fromZone, family: group.family) : [])
                add(key, origin: origin) { $0.destinations.append(contentsOf: targets) }
                if let scope = service.multicast, group.family == .ipv4 {
                    // The same datagrams to a group of the scope (a multicast producer); TTL 1 keeps them in the zone.
                    var key = key
                    key.multicastScope = scope
                    add(key, origin: origin) { $0.anyDestination = true }
                }
                if needsReplies || answersAnywhere {
                    let key = Key(
                        hook: .input, kind: .reply, service: service.id, transport: transport, family: group.family,
                        sport: group.dports, dport: group.sports,
                        iifname: answersAnywhere ? nil : broadcastInterface(service, zone: group.fromZone),
                        local: answersAnywhere
                            ? nil : receiving(service, in: group.initiators, zone: group.fromZone, family: group.family)
                    )
                    add(key, origin: reply) { $0.sources.append(contentsOf: listenerAddresses) }
                }
            }
            if let interfaces = host.interfaces, group.crossesZones, !service.unaddressedInitiator,
                let inbound = interfaces[group.fromZone], let outbound = interfaces[group.toZone]
            {
                let key = Key(
                    hook: .forward, kind: .flow, service: service.id, transport: transport, family: group.family,
                    sport: group.sports, dport: dports, helper: helper, limit: service.limit,
                    iifname: inbound, oifname: outbound, fromZone: group.fromZone, toZone: group.toZone,
                    operations: group.operations, narrowing: group.narrowed ? index : nil)
                add(key, origin: origin) { acc in
                    acc.sources.append(contentsOf: initiatorAddresses)
                    acc.destinations.append(contentsOf: listenerAddresses)
                }
                if needsReplies {
                    let key = Key(
                        hook: .forward, kind: .reply, service: service.id, transport: transport, family: group.family,
                        sport: group.dports, dport: group.sports, iifname: outbound, oifname: inbound,
                        fromZone: group.toZone, toZone: group.fromZone)
                    add(key, origin: reply) { acc in
                        acc.sources.append(contentsOf: listenerAddresses)
                        acc.destinations.append(contentsOf: initiatorAddresses)
                    }
                }
            }
        }
    }

    /// The rules for one chain, in a stable order: by service, then transport and ports.
    mutating func rules(for hook: Hook) -> [Rule] {
        let sortKey = { (k: Key) -> [String] in
            [
                k.service, k.kind.rawValue, k.transport.rawValue, k.family.rawValue, k.dport?.description ?? "",
                k.sport?.description ?? "", k.iifname ?? "", k.oifname ?? "",
            ]
        }
        let keys = order.filter { $0.hook == hook }.sorted { sortKey($0).lexicographicallyPrecedes(sortKey($1)) }
        var rules: [Rule] = []
        for key in keys {
            let acc = accumulators[key]!
            var rule = Rule(verdict: .accept)
            rule.family = key.family
            rule.transport = key.transport
            rule.sport = key.sport
            rule.dport = key.dport
            rule.helper = key.helper
            rule.limit = key.limit
            rule.iifname = key.iifname
            rule.oifname = key.oifname
            // Sets are named after the roles of their members, so that rules of several services
            // share one set ("plant_scada_client_v4") instead of each holding a copy.
            let initiators = SetNamer.roleStem(acc.origin.initiatorRoles ?? [], fallback: key.service)
            let listeners = SetNamer.roleStem(acc.origin.listenerRoles ?? [], fallback: key.service)
            let reply = key.kind == RuleOrigin.Kind.reply ? "_reply" : ""
            switch hook {
            case .input:
                if !acc.anySource {
                    let stem = key.kind == .reply ? listeners + reply : initiators
                    rule.saddr = .set(
                        namer.set(
                            base: stem, family: key.family, addresses: acc.sources,
                            comment: "may open \(key.service)"))
                }
                rule.daddr = key.local.map { AddressMatch.addresses($0.sorted()) }
            case .output where acc.anyDestination:
                rule.daddr = key.multicastScope.map { .network($0) }
            case .output:
                let stem = key.kind == .reply ? initiators + reply : listeners
                rule.daddr = .set(
                    namer.set(
                        base: stem, family: key.family, addresses: acc.destinations,
                        comment: "offer \(key.service)"))
                rule.saddr = key.local.map { AddressMatch.addresses($0.sorted()) }
            default:
                let from = (key.kind == .reply ? listeners : initiators) + "_" + (key.fromZone ?? "")
                let to = (key.kind == .reply ? initiators : listeners) + "_" + (key.toZone ?? "")
                rule.saddr = .set(
                    namer.set(
                        base: from, family: key.family, addresses: acc.sources, comment: "may open \(key.service)"))
                rule.daddr = .set(
                    namer.set(
                        base: to, family: key.family, addresses: acc.destinations, comment: "offer \(key.service)"))
            }
            rule.origin = acc.origin
            rule.comment =
                key.transport == .igmp
                ? "IGMP membership reports: receives \(key.service) multicast" : RuleComment.make(acc.origin)
            rules.append(rule)
            if let operations = key.operations { screens[hook, default: []] += Self.screens(rule, operations) }
        }
        return rules
    }

    /// The operation filter's rules for a flow rule: its matches, each with the filter's tests.
    static func screens(_ flow: Rule, _ filter: OperationFilter) -> [Rule] {
        filter.tests().map { test in
            var rule = flow
            rule.helper = nil
            rule.limit = nil
            rule.payload = test.payload
            rule.verdict = test.verdict
            rule.comment = test.why
            return rule
        }
    }
}

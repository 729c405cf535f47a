/// Checks that a site says what it means: the management path exists, every conduit carries something
/// and has a gateway, every use has a listener it can reach. A broken site must never pass quietly.
extension SiteChecks {
    /// Errors: `management:` names a host that could never open SSH to the managed one, so `apply`
    /// would refuse and `nft -f` of the compiled file would lock the operator out.
    static func managementPaths(_ site: ResolvedSite, flows: [FlowGroup], log: inout DiagnosticLog) {
        let ssh = "ssh/ssh"
        // Per allowed SSH group, who listens and who opens: a pair is checked against these sets
        // (not a set of every pair, which grows with the square of the site).
        let sshGroups = flows.filter { $0.allowed && $0.service.id == ssh }.map {
            (listeners: Set($0.listeners.map(\.host)), initiators: Set($0.initiators.map(\.host)))
        }
        let reaches = { (initiator: String, listener: String) in
            sshGroups.contains { $0.listeners.contains(listener) && $0.initiators.contains(initiator) }
        }
        for host in site.hosts where !host.management.isEmpty {
            let written = host.written?.host.management ?? []
            if host.offers[ssh] == nil {
                log.error(
                    "host '\(host.name)' names management hosts but runs no SSH server",
                    at: written.first?.location ?? host.location,
                    fix: "add 'ssh/server' to the roles of '\(host.name)'")
                continue
            }
            for manager in host.management {
                let location = written.first { $0.value == manager }?.location ?? host.location
                guard let station = site.host(named: manager) else { continue }
                if station.uses[ssh] == nil {
                    log.error(
                        "management host '\(manager)' of '\(host.name)' has no SSH client role, "
                            + "so it could not reach '\(host.name)' after the rules are applied",
                        at: location, fix: "add 'ssh/client' to the roles of '\(manager)'")
                } else if !reaches(manager, host.name) {
                    let from = station.addresses.first?.zone ?? "?"
                    let to = host.addresses.first?.zone ?? "?"
                    log.error(
                        "management host '\(manager)' (\(from)) could not reach '\(host.name)' (\(to)) over SSH",
                        at: location,
                        fix: "add '- { from: \(from), to: \(to), services: [ssh] }' to conduits")
                }
            }
        }
    }

    /// Errors: a host a vendor's role exchanges a service with uses a port the vendor cannot reach
    /// (Genetec's plugin talks BACnet only to devices on 47808).
    static func peerPorts(_ site: ResolvedSite, flows: [FlowGroup], log: inout DiagnosticLog) {
        var reported = Set<String>()
        for profile in site.catalog.profiles {
            for constraint in profile.constraints {
                guard case .peerPorts(let serviceID) = constraint.kind else { continue }
                let bound = { (member: HostAddress) -> Bool in
                    guard let host = site.host(named: member.host) else { return false }
                    return host.roles.contains { role in
                        role.profileName == profile.name && (constraint.roles?.contains(role.id) ?? true)
                    }
                }
                for group in flows where group.service.id == serviceID && group.initiators.contains(where: bound) {
                    guard !constraint.ports.contains(group.dports) else { continue }
                    for peer in Set(group.listeners.filter { !bound($0) }.map(\.host)).sorted()
                    where reported.insert(peer).inserted {
                        let resolved = site.host(named: peer)
                        let moved = resolved?.written?.host.ports.first { $0.value.service == serviceID }
                        log.error(
                            "'\(serviceID)' on host '\(peer)' uses port \(group.dports), but \(profile.product) "
                                + "reaches its peers only on \(constraint.ports): \"\(constraint.message)\"",
                            at: moved?.location ?? resolved?.location,
                            fix: "move '\(peer)' back to \(constraint.ports), or keep it out of reach of "
                                + "\(FlowGroup.describe(group.initiators.filter(bound)))")
                    }
                }
            }
        }
    }

    /// Warnings: conduits that carry nothing, conduits no gateway forwards, blocked entries that block
    /// nothing, uses no host offers, and uses that no listener shares an address family with.
    static func completeness(_ site: ResolvedSite, flows: [FlowGroup], log: inout DiagnosticLog) {
        unusedConduits(site, flows: flows, log: &log)
        unreachableUses(site, log: &log)
    }

    /// [from zone, to zone, service id] of every allowed cross-zone flow, by the conduit that carries it.
    static func carried(_ flows: [FlowGroup]) -> Set<[String]> {
        var carried = Set<[String]>()
        for group in flows where group.crossesZones && group.allowed {
            // The answering direction of a mutual exchange rides the conduit of the exchange.
            let (from, to) = group.reverse ? (group.toZone, group.fromZone) : (group.fromZone, group.toZone)
            carried.insert([from, to, group.service.id])
        }
        return carried
    }

    /// The services a conduit lists that no allowed flow uses (`carried`); a name of no known service is
    /// the resolver's error, not this.
    static func unusedServices(
        _ conduit: Conduit, site: ResolvedSite, carried: Set<[String]>
    ) -> [Located<String>] {
        let (from, to) = (conduit.from.value, conduit.to.value)
        return conduit.services.filter { name in
            let services = site.catalog.servicesNamed(name.value)?.map(\.id) ?? []
            return !services.isEmpty && !services.contains(where: { carried.contains([from, to, $0]) })
        }
    }

    static func unusedConduits(_ site: ResolvedSite, flows: [FlowGroup], log: inout DiagnosticLog) {
        let carried = carried(flows)
        var gaps = Set<[String]>()
        for group in flows where group.crossesZones && !group.allowed {
            gaps.insert([group.fromZone, group.toZone, group.service.id])
        }
        for conduit in site.site.conduits {
            let (from, to) = (conduit.from.value, conduit.to.value)
            guard from != to, site.zone(named: from) != nil, site.zone(named: to) != nil else { continue }
            for name in unusedServices(conduit, site: site, carried: carried) {
                log.warning(
                    "the conduit from '\(from)' to '\(to)' lists '\(name.value)', but no host in '\(from)' "
                        + "uses it towards a host in '\(to)' that offers it",
                    at: name.location,
                    fix: "remove '\(name.value)' from the conduit, or give the hosts the roles that need it")
            }
            if !site.gateways.isEmpty && site.gateway(joining: from, to) == nil {
                log.warning(
                    "no gateway of the site joins '\(from)' and '\(to)', so no sitewall rule forwards this conduit; "
                        + "only the hosts' own rules open it",
                    at: conduit.location,
                    fix: "add an interface for '\(from)' or '\(to)' to the gateway that routes between them, "
                        + "or ignore this if an unmanaged router does")
            }
        }
        for block in site.site.blocked {
            let (from, to) = (block.from.value, block.to.value)
            for name in block.services {
                let services = site.catalog.servicesNamed(name.value)?.map(\.id) ?? []
                if !services.isEmpty && !services.contains(where: { gaps.contains([from, to, $0]) }) {
                    log.warning(
                        "the blocked entry from '\(from)' to '\(to)' lists '\(name.value)', "
                            + "but no role implies such a flow",
                        at: name.location, fix: "remove it: there is nothing to acknowledge")
                }
            }
        }
    }

    static func unreachableUses(_ site: ResolvedSite, log: inout DiagnosticLog) {
        // Per service: the address families its listeners and its initiators have.
        var listenerFamilies: [String: Set<IPFamily>] = [:]
        var initiatorFamilies: [String: Set<IPFamily>] = [:]
        let usable = { (service: Service, host: ResolvedHost) -> Set<IPFamily> in
            Set(host.addresses.map(\.address.family).filter { family in service.family.map { $0 == family } ?? true })
        }
        for host in site.hosts {
            for offered in host.offers.values
            where offered.service.scope == .network && (!offered.ports.isEmpty || offered.service.isPortless) {
                listenerFamilies[offered.service.id, default: []].formUnion(usable(offered.service, host))
                if offered.service.initiation == .peer {
                    initiatorFamilies[offered.service.id, default: []].formUnion(usable(offered.service, host))
                }
            }
            for used in host.uses.values where used.service.scope == .network {
                initiatorFamilies[used.service.id, default: []].formUnion(usable(used.service, host))
            }
        }
        let familyNames = { (families: Set<IPFamily>) in
            families.map { $0 == .ipv4 ? "IPv4" : "IPv6" }.sorted().joined(separator: " and ")
        }
        var nobody: [String: [ResolvedHost]] = [:]
        for host in site.hosts {
            for used in host.uses.values.sorted(by: { $0.service.id < $1.service.id })
            where used.service.scope == .network {
                let service = used.service
                guard let listening = listenerFamilies[service.id] else {
                    if !used.optional { nobody[service.id, default: []].append(host) }
                    continue
                }
                let own = usable(service, host)
                if own.isEmpty, let family = service.family {
                    log.warning(
                        "'\(service.id)' is \(familyNames([family])) only, and host '\(host.name)' "
                            + "has no such address, so it gets no \(service.id) flows",
                        at: host.location, fix: "give '\(host.name)' an address of that family, or drop the role")
                } else if !own.isEmpty && own.isDisjoint(with: listening) {
                    log.warning(
                        "host '\(host.name)' has \(familyNames(own)) addresses only, but every host offering "
                            + "'\(service.id)' has \(familyNames(listening)) only, so it gets no \(service.id) flows",
                        at: host.location, fix: "give the hosts a common address family")
                }
            }
            for offered in host.offers.values.sorted(by: { $0.service.id < $1.service.id })
            where offered.service.scope == .network && offered.service.initiation == .client {
                let own = usable(offered.service, host)
                if own.isEmpty, let family = offered.service.family, !host.addresses.isEmpty {
                    log.warning(
                        "'\(offered.service.id)' is \(familyNames([family])) only, and host '\(host.name)' "
                            + "has no such address, so nobody can reach its \(offered.service.id)",
                        at: host.location, fix: "give '\(host.name)' an address of that family, or drop the role")
                    continue
                }
                guard let initiating = initiatorFamilies[offered.service.id], !own.isEmpty,
                    own.isDisjoint(with: initiating)
                else { continue }
                log.warning(
                    "host '\(host.name)' offers '\(offered.service.id)' over \(familyNames(own)) only, but every "
                        + "host using it has \(familyNames(initiating)) only, so none can reach it",
                    at: host.location, fix: "give the hosts a common address family")
            }
        }
        for (service, hosts) in nobody.sorted(by: { $0.key < $1.key }) {
            let roles = FlowDeriver.uniqued(hosts.flatMap { $0.uses[service]?.roles ?? [] })
            log.warning(
                "\(FlowGroup.describe(names: hosts.map(\.name))) use\(hosts.count == 1 ? "s" : "") '\(service)' (role \(roles.joined(separator: ", "))), "
                    + "but no host of the site offers it",
                at: hosts[0].location,
                fix: "add the host that serves '\(service)' with its role, or drop the role that uses it")
        }
    }
}

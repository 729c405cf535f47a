/// Checks a site against the profiles and resolves it: zones from addresses, roles, final ports,
/// and every vendor constraint. Reports all problems it finds, not just the first.
public enum SiteResolver {
    public static func resolve(_ site: Site, catalog: ProfileCatalog, log: inout DiagnosticLog) -> ResolvedSite {
        let zones = checkZones(site, log: &log)
        var resolved = ResolvedSite(site: site, catalog: catalog, zones: zones)
        let names = HostNames(site)
        resolved.groups = resolveGroups(site, names: names, log: &log)
        let repeated = repeatedAddresses(site)
        resolved.reserveCapacity(hosts: site.hosts.count)
        var cache = RoleCache()
        for (hostIndex, host) in site.hosts.enumerated() {
            for (entry, address) in host.addresses.enumerated() {
                if let owner = repeated[AddressEntry(host: Int32(hostIndex), entry: Int32(entry))] {
                    let written = site.hosts[Int(owner.host)]
                    let location = written.addresses[Int(owner.entry)].location
                    log.error(
                        "address \(address.value) of '\(host.name)' is already used by '\(written.name)'",
                        at: address.location,
                        fix:
                            "give each host its own address "
                            + "(the other is at \(location.map(\.description) ?? "an earlier line"))"
                    )
                }
            }
            if var resolvedHost = resolveHost(
                host, site: site, names: names, zones: zones, catalog: catalog, cache: &cache, log: &log)
            {
                applyUses(
                    host, to: &resolvedHost, site: site, names: names, groups: resolved.groups, catalog: catalog,
                    log: &log)
                if !host.uses.isEmpty || !host.clusters.isEmpty { resolvedHost.roleClass = nil }
                if !host.management.isEmpty || !host.ports.isEmpty { resolvedHost.written = WrittenHost(host) }
                resolved.add(resolvedHost)
            }
        }
        resolved.conduits = resolveConduits(
            site.conduits, zones: zones, catalog: catalog, site: site, names: names, groups: resolved.groups,
            log: &log)
        resolved.blocked = resolveConduits(
            site.blocked, zones: zones, catalog: catalog, site: site, names: names, groups: resolved.groups,
            log: &log)
        checkPeers(resolved, log: &log)
        for block in resolved.blocked {
            for service in block.services.sorted() {
                guard let conduit = resolved.conduit(from: block.from, to: block.to, service: service) else { continue }
                log.error(
                    "'\(service)' from '\(block.from)' to '\(block.to)' is both blocked and allowed by a conduit",
                    at: block.location,
                    fix:
                        "remove it from 'blocked:' or from the conduit at \(conduit.location.map(\.description) ?? "?")"
                )
            }
        }
        resolved.releaseWrittenHosts()
        return resolved
    }

    /// The site's host names, for the checks that a name given somewhere is a host's (the site keeps
    /// no index; after resolving, the resolved site's serves). Made at the first question: most hosts
    /// name no other host.
    final class HostNames {
        private let site: Site
        private lazy var names = Set(site.hosts.map(\.name))

        init(_ site: Site) { self.site = site }

        func contains(_ name: String) -> Bool { names.contains(name) }
    }

    /// Where a host's address entry is in the site.
    struct AddressEntry: Hashable {
        var host: Int32
        var entry: Int32
    }

    /// Every address entry that repeats an address written before it, with the entry that wrote it
    /// first. The entries go into a table of 32-bit positions (open addressing, at most half full): a
    /// dictionary of every address cost 6 MiB at 50,000 hosts, and a site has few repeats to remember.
    static func repeatedAddresses(_ site: Site) -> [AddressEntry: AddressEntry] {
        var entries: [(address: IPAddress, at: AddressEntry)] = []
        entries.reserveCapacity(site.hosts.count)
        for host in site.hosts.indices {
            for (entry, address) in site.hosts[host].addresses.enumerated() {
                entries.append((address.value, AddressEntry(host: Int32(host), entry: Int32(entry))))
            }
        }
        var capacity = 16
        while capacity < 2 * entries.count { capacity <<= 1 }
        let mask = capacity - 1
        var slots = [Int32](repeating: -1, count: capacity)
        var repeated: [AddressEntry: AddressEntry] = [:]
        // In the order the site writes them: the entry a table slot keeps wrote its address first.
        next: for index in entries.indices {
            var slot = entries[index].address.hashValue & mask
            while slots[slot] >= 0 {
                let first = entries[Int(slots[slot])]
                if first.address == entries[index].address {
                    repeated[entries[index].at] = first.at
                    continue next
                }
                slot = (slot + 1) & mask
            }
            slots[slot] = Int32(index)
        }
        return repeated
    }

    static func checkZones(_ site: Site, log: inout DiagnosticLog) -> [Zone] {
        for (i, zone) in site.zones.enumerated() {
            for other in site.zones[..<i] {
                for a in zone.networks {
                    for b in other.networks where a.contains(b.address) || b.contains(a.address) {
                        log.warning(
                            "network \(a) of zone '\(zone.name)' overlaps \(b) of zone '\(other.name)'",
                            at: zone.location,
                            fix:
                                "hosts in the overlap go to the zone with the longer prefix; "
                                + "give 'zone:' on a host to be explicit"
                        )
                    }
                }
            }
        }
        return site.zones
    }

    /// The zone whose network holds the address, longest prefix first.
    static func zone(of address: IPAddress, in zones: [Zone]) -> String? {
        var best: (String, Int)?
        for zone in zones {
            for network in zone.networks where network.contains(address) {
                if best == nil || network.prefixLength > best!.1 { best = (zone.name, network.prefixLength) }
            }
        }
        return best?.0
    }

    /// What a set of roles offers and uses, and whether its checks were clean: hosts with the
    /// same roles and no port overrides (most of a large site) share one computation.
    struct RoleCache {
        struct Entry {
            var id: Int
            var roles: [Role]
            var offers: [String: OfferedService]
            var uses: [String: UsedService]
        }
        private var entries: [[String]: Entry] = [:]
        /// The last entry met: hosts of one kind are mostly written one after another, and comparing
        /// their roles with it costs neither an array nor a hash.
        private var last: (signature: [String], entry: Entry)?

        mutating func entry(for roles: [Located<String>]) -> Entry? {
            if let last, last.signature.count == roles.count,
                zip(last.signature, roles).allSatisfy({ $0 == $1.value })
            {
                return last.entry
            }
            let signature = roles.map(\.value)
            guard let entry = entries[signature] else { return nil }
            last = (signature, entry)
            return entry
        }

        /// Shares a clean outcome; returns its class.
        mutating func store(_ roles: [Located<String>], _ result: ResolvedHost) -> Int {
            let entry = Entry(id: entries.count, roles: result.roles, offers: result.offers, uses: result.uses)
            let signature = roles.map(\.value)
            entries[signature] = entry
            last = (signature, entry)
            return entry.id
        }
    }

    static func resolveHost(
        _ host: Host, site: Site, names: HostNames, zones: [Zone], catalog: ProfileCatalog, cache: inout RoleCache,
        log: inout DiagnosticLog
    ) -> ResolvedHost? {
        // Most hosts name no zone: the names are listed only for a message.
        func isZone(_ name: String) -> Bool { zones.contains { $0.name == name } }
        var zoneNames: [String] { zones.map(\.name) }
        var result = ResolvedHost(
            name: host.name, addresses: [], roles: [], offers: [:], uses: [:], interfaces: nil, location: host.location)

        if let given = host.zone, !isZone(given.value) {
            log.error(
                "host '\(host.name)' names unknown zone '\(given.value)'", at: given.location,
                fix: DidYouMean.hint(for: given.value, among: zoneNames, kind: "zone"))
        }
        result.addresses.reserveCapacity(host.addresses.count)
        for address in host.addresses {
            let derived = zone(of: address.value, in: zones)
            if let given = host.zone, isZone(given.value) {
                if let derived, derived != given.value {
                    log.error(
                        "address \(address.value) of '\(host.name)' lies in zone '\(derived)', "
                            + "not in its given zone '\(given.value)'",
                        at: address.location, fix: "correct the address, or drop 'zone:' so the address decides")
                } else if derived == nil {
                    log.warning(
                        "address \(address.value) of '\(host.name)' is outside every network of zone '\(given.value)'",
                        at: address.location, fix: "add its network to zone '\(given.value)'")
                }
                result.addresses.append(HostAddress(host: host.name, address: address.value, zone: given.value))
            } else if let derived {
                result.addresses.append(HostAddress(host: host.name, address: address.value, zone: derived))
            } else if host.zone == nil {
                log.error(
                    "address \(address.value) of '\(host.name)' is in no zone's networks", at: address.location,
                    fix: "add a network holding it to a zone, or give the host 'zone: NAME'")
            }
        }

        if let gateway = host.gateway {
            var interfaces: [String: String] = [:]
            var seenInterfaces: [String: String] = [:]
            for entry in gateway.interfaces {
                let item = entry.value
                guard isZone(item.zone) else {
                    log.error(
                        "gateway '\(host.name)' names unknown zone '\(item.zone)'", at: entry.location,
                        fix: DidYouMean.hint(for: item.zone, among: zoneNames, kind: "zone"))
                    continue
                }
                if let other = seenInterfaces[item.interface] {
                    log.error(
                        "gateway '\(host.name)' uses interface '\(item.interface)' "
                            + "for zones '\(other)' and '\(item.zone)'",
                        at: entry.location,
                        fix: "a zone boundary needs one interface per zone (use VLAN interfaces such as eth1.10)")
                }
                seenInterfaces[item.interface] = item.zone
                interfaces[item.zone] = item.interface
            }
            result.interfaces = interfaces
            // An address in a zone means the gateway is on that zone's link: without its interface no
            // forward rule can name the zone, and every conduit of it would be dropped.
            var reported = Set<String>()
            for address in result.addresses where interfaces[address.zone] == nil {
                guard reported.insert(address.zone).inserted else { continue }
                log.error(
                    "gateway '\(host.name)' has address \(address.address) in zone '\(address.zone)' but no interface "
                        + "for it, so it would drop every flow between '\(address.zone)' and its other zones",
                    at: host.addresses.first { $0.value == address.address }?.location ?? host.location,
                    fix: "add '\(address.zone): IFNAME' to the interfaces of gateway '\(host.name)'")
            }
        }

        for manager in host.management {
            if names.contains(manager.value) {
                result.management.append(manager.value)
            } else {
                log.error(
                    "host '\(host.name)' names unknown management host '\(manager.value)'", at: manager.location,
                    fix: DidYouMean.hint(for: manager.value, among: site.hosts.map(\.name), kind: "host"))
            }
        }
        if host.ports.isEmpty, let entry = cache.entry(for: host.roles) {
            result.roles = entry.roles
            result.offers = entry.offers
            result.uses = entry.uses
            result.roleClass = entry.id
            return result
        }
        let before = log.diagnostics.count
        for roleName in host.roles {
            guard let role = catalog.roles[roleName.value] else {
                log.error(
                    "host '\(host.name)' has unknown role '\(roleName.value)'", at: roleName.location,
                    fix: DidYouMean.hint(for: roleName.value, among: Array(catalog.roles.keys), kind: "role")
                        + " ('sitewall profiles' lists every role)")
                continue
            }
            result.roles.append(role)
            for endpoint in role.offers {
                guard let service = catalog.services[endpoint.service] else { continue }
                var offered =
                    result.offers[service.id]
                    ?? OfferedService(service: service, ports: service.ports ?? PortSet([]), roles: [])
                offered.roles.append(role.id)
                offered.citations += endpoint.citations
                result.offers[service.id] = offered
            }
            for endpoint in role.uses {
                guard let service = catalog.services[endpoint.service] else { continue }
                var used =
                    result.uses[service.id]
                    ?? UsedService(
                        service: service, sourcePorts: endpoint.sourcePorts ?? service.sourcePorts,
                        roles: [], citations: [], optional: true, withinCluster: true)
                used.optional = used.optional && endpoint.optional
                used.withinCluster = used.withinCluster && endpoint.withinCluster
                used.roles.append(role.id)
                used.citations += endpoint.citations
                result.uses[service.id] = used
            }
        }

        applyPortOverrides(host, to: &result, catalog: catalog, log: &log)
        checkHostConstraints(host, result, catalog: catalog, log: &log)
        // Only a clean outcome is shared: another host with these roles would get the same one.
        if host.ports.isEmpty && log.diagnostics.count == before {
            result.roleClass = cache.store(host.roles, result)
        }
        return result
    }

    static func applyPortOverrides(
        _ host: Host, to result: inout ResolvedHost, catalog: ProfileCatalog, log: inout DiagnosticLog
    ) {
        for entry in host.ports {
            let override = entry.value
            guard let service = catalog.services[override.service] else {
                log.error(
                    "host '\(host.name)' sets a port for unknown service '\(override.service)'", at: entry.location,
                    fix: DidYouMean.hint(
                        for: override.service, among: Array(result.offers.keys) + Array(catalog.services.keys),
                        kind: "service"))
                continue
            }
            guard var offered = result.offers[service.id] else {
                log.error(
                    "host '\(host.name)' sets a port for '\(service.id)', but none of its roles listens on it",
                    at: entry.location,
                    fix: "set ports on the host that offers the service, or add a role that offers it")
                continue
            }
            guard service.configurable else {
                let why = service.citations.first.map { " (\($0))" } ?? ""
                log.error(
                    "the port of '\(service.id)' cannot be changed: "
                        + "the vendor fixes it at \(service.ports?.description ?? "?")\(why)",
                    at: entry.location, fix: "remove this port override")
                continue
            }
            offered.ports = override.ports
            result.offers[service.id] = offered
        }
    }

    static func checkHostConstraints(
        _ host: Host, _ result: ResolvedHost, catalog: ProfileCatalog, log: inout DiagnosticLog
    ) {
        let overrideLocation = { (service: String) in
            host.ports.first { $0.value.service == service }?.location ?? host.location
        }
        let hostProfiles = Set(result.roles.map(\.profileName))
        for offered in result.offers.values.sorted(by: { $0.service.id < $1.service.id }) {
            let service = offered.service
            guard service.scope == .network, !service.isPortless else { continue }
            if offered.ports.isEmpty {
                let note = service.note.map { " (\($0))" } ?? ""
                log.error(
                    "'\(service.id)' on host '\(host.name)' has no default port; the site must give one\(note)",
                    at: host.location,
                    fix:
                        "add 'ports: { \(service.id): \(service.examplePorts?.description ?? "PORT") }' "
                        + "to host '\(host.name)'"
                        + (service.examplePorts.map { " (the vendor's table shows \($0))" } ?? ""))
                continue
            }
            // The service's own profile, and any profile of the host that pins the service's ports
            // (Genetec: "UDP 162 is not configurable" binds SNMP traps on its plugin host).
            let pinning = hostProfiles.subtracting([service.profileName]).sorted().compactMap {
                catalog.profile(named: $0)
            }
            for other in pinning {
                for constraint in other.constraints {
                    guard case .allowedPorts(let target) = constraint.kind, target == service.id,
                        constraint.roles.map({ roles in result.roles.contains { roles.contains($0.id) } }) ?? true,
                        !constraint.ports.contains(offered.ports)
                    else { continue }
                    log.error(
                        "'\(service.id)' on host '\(host.name)' uses port \(offered.ports), "
                            + "outside the ports \(other.product) allows (\(constraint.ports)): "
                            + "\"\(constraint.message)\"",
                        at: overrideLocation(service.id), fix: "pick a port in \(constraint.ports)")
                }
            }
            guard let profile = catalog.profile(named: service.profileName) else { continue }
            for constraint in profile.constraints {
                switch constraint.kind {
                case .reservedPorts:
                    // A reserved port may only be used by the service whose default it is.
                    let clash = offered.ports.intersection(constraint.ports)
                    let own = service.ports ?? PortSet([])
                    if !clash.isEmpty && !own.contains(clash) {
                        log.error(
                            "'\(service.id)' on host '\(host.name)' uses port \(clash), "
                                + "reserved for another \(profile.product) process: \"\(constraint.message)\"",
                            at: overrideLocation(service.id),
                            fix:
                                "choose a port outside \(constraint.ports) "
                                + "(\(constraint.citations.first?.description ?? profile.file))"
                        )
                    }
                case .allowedPorts(let target) where target == service.id:
                    if !constraint.ports.contains(offered.ports) {
                        log.error(
                            "'\(service.id)' on host '\(host.name)' uses port \(offered.ports), "
                                + "outside the ports the vendor allows (\(constraint.ports)): "
                                + "\"\(constraint.message)\"",
                            at: overrideLocation(service.id), fix: "pick a port in \(constraint.ports)")
                    }
                default:
                    break
                }
            }
        }
        // never-open: nothing that this host listens on may open a port its vendors forbid.
        for profileName in hostProfiles.sorted() {
            guard let profile = catalog.profile(named: profileName) else { continue }
            for constraint in profile.constraints {
                guard case .neverOpen = constraint.kind else { continue }
                // Scoped to some of the vendor's roles (its controllers): other roles of it are not bound.
                if let roles = constraint.roles, !result.roles.contains(where: { roles.contains($0.id) }) { continue }
                for offered in result.offers.values.sorted(by: { $0.service.id < $1.service.id })
                where offered.service.scope == .network {
                    guard offered.service.transports.contains(where: constraint.transports.contains) else { continue }
                    let clash = offered.ports.intersection(constraint.ports)
                    if !clash.isEmpty {
                        log.error(
                            "'\(offered.service.id)' on host '\(host.name)' would open port \(clash), "
                                + "which \(profile.product) never allows: \"\(constraint.message)\"",
                            at: overrideLocation(offered.service.id),
                            fix: "use another port (\(constraint.citations.first?.description ?? profile.file))")
                    }
                }
            }
        }
        // Two services on one host on the same transport and port.
        let offers = result.offers.values.filter { $0.service.scope == .network && !$0.ports.isEmpty }.sorted {
            $0.service.id < $1.service.id
        }
        for (i, a) in offers.enumerated() {
            for b in offers[(i + 1)...] {
                let transports = a.service.transports.filter(b.service.transports.contains)
                let clash = a.ports.intersection(b.ports)
                guard !transports.isEmpty, !clash.isEmpty,
                    a.service.sharesPortWith != b.service.id, b.service.sharesPortWith != a.service.id
                else { continue }
                let text =
                    "'\(a.service.id)' and '\(b.service.id)' both listen on "
                    + "\(transports.map(\.rawValue).joined(separator: "/")) \(clash) on host '\(host.name)'"
                if a.service.profileName == b.service.profileName {
                    log.error(
                        text, at: overrideLocation(b.service.id), fix: "give one of them a distinct port with 'ports:'")
                } else {
                    log.warning(
                        text + "; the same port serves both", at: host.location,
                        fix: "if these are different programs, move one to another port")
                }
            }
        }
    }

    /// Group name -> its hosts; a group shares no name with a host, and names only hosts.
    static func resolveGroups(_ site: Site, names: HostNames, log: inout DiagnosticLog) -> [String: [String]] {
        var groups: [String: [String]] = [:]
        for group in site.groups {
            if names.contains(group.name) {
                log.error(
                    "group '\(group.name)' has the name of a host", at: group.location,
                    fix: "give the group a name no host has")
                continue
            }
            var members: [String] = []
            for member in group.members {
                if names.contains(member.value) {
                    members.append(member.value)
                } else {
                    log.error(
                        "group '\(group.name)' names unknown host '\(member.value)'", at: member.location,
                        fix: DidYouMean.hint(for: member.value, among: site.hosts.map(\.name), kind: "host"))
                }
            }
            groups[group.name] = members
        }
        return groups
    }

    /// Hosts and groups as host names; unknown names are reported.
    static func expand(
        _ names: [Located<String>], site: Site, hostNames: HostNames, groups: [String: [String]], what: String,
        log: inout DiagnosticLog
    ) -> Set<String> {
        var hosts = Set<String>()
        for name in names {
            if let members = groups[name.value] {
                hosts.formUnion(members)
            } else if hostNames.contains(name.value) {
                hosts.insert(name.value)
            } else {
                log.error(
                    "\(what) names unknown host or group '\(name.value)'", at: name.location,
                    fix: DidYouMean.hint(
                        for: name.value, among: site.hosts.map(\.name) + groups.keys.sorted(), kind: "host or group"))
            }
        }
        return hosts
    }

    /// A host's `uses:`: the peers and operations of services its roles use (or, for a peer service
    /// such as BACnet, offer: those who offer it initiate it too).
    static func applyUses(
        _ host: Host, to result: inout ResolvedHost, site: Site, names: HostNames, groups: [String: [String]],
        catalog: ProfileCatalog, log: inout DiagnosticLog
    ) {
        result.clusters = Set(host.clusters.map(\.value))
        for entry in host.uses {
            let use = entry.value
            guard let named = catalog.servicesNamed(use.service) else {
                log.error(
                    "host '\(host.name)' narrows unknown service '\(use.service)'", at: entry.location,
                    fix: DidYouMean.hint(
                        for: use.service, among: Array(result.uses.keys) + catalog.profiles.map(\.name),
                        kind: "service"))
                continue
            }
            let initiates = { (id: String) in
                result.uses[id] != nil || (result.offers[id]?.service.initiation == .peer)
            }
            let services = named.map(\.id).filter(initiates).sorted()
            if services.isEmpty {
                log.error(
                    "host '\(host.name)' narrows '\(use.service)', but none of its roles uses it", at: entry.location,
                    fix:
                        "add a role that uses it (e.g. \(use.service.split(separator: "/")[0])/client), or remove the entry"
                )
                continue
            }
            let peers = use.peers.map {
                expand(
                    $0, site: site, hostNames: names, groups: groups,
                    what: "the use of \(use.service) by '\(host.name)'", log: &log)
            }
            var filtered = false
            for id in services {
                let service = (result.uses[id]?.service ?? result.offers[id]?.service)!
                var operations: OperationFilter?
                if let spec = use.operations, let proto = service.operations {
                    filtered = true
                    if checkOperations(spec, of: proto, log: &log) {
                        operations = OperationFilter(proto, spec: spec.value)
                    }
                }
                if var used = result.uses[id] {
                    used.peers = peers
                    used.operations = operations
                    used.narrowedAt = entry.location
                    result.uses[id] = used
                }
                if var offered = result.offers[id], service.initiation == .peer {
                    offered.peers = peers
                    offered.operations = operations
                    offered.narrowedAt = entry.location
                    result.offers[id] = offered
                }
            }
            if let operations = use.operations, !filtered {
                log.error(
                    (services.count == 1
                        ? "'\(services[0])' has no operation filter"
                        : "none of the services of '\(use.service)' has an operation filter")
                        + ", so '\(operations.value)' cannot be enforced for host '\(host.name)'",
                    at: operations.location, fix: noOperationFilterFix)
            }
        }
    }

    /// Whether `proto` takes what the site asks of it (BACnet takes read-only only); reports it if not.
    static func checkOperations(
        _ spec: Located<OperationSpec>, of proto: OperationProtocol, log: inout DiagnosticLog
    ) -> Bool {
        guard !proto.accepts(spec.value) else { return true }
        log.error(
            "\(proto.rawValue) takes 'operations: read-only' only, not \(spec.value)", at: spec.location,
            fix: "write 'operations: read-only'")
        return false
    }

    static let noOperationFilterFix =
        "remove 'operations:' (only " + OperationProtocol.allCases.map(\.rawValue).joined(separator: ", ")
        + " services can be narrowed to operations)"

    /// Named peers that do not offer the service they are named for: the use reaches nothing there.
    /// A host of clusters whose within-cluster use no host of its clusters offers.
    static func checkPeers(_ site: ResolvedSite, log: inout DiagnosticLog) {
        var offeredInCluster: [String: Set<String>] = [:]
        // A class's hosts offer the same services and have no clusters: the first of it speaks for all.
        var classesSeen = Set<Int>()
        for index in site.hosts.indices
        where site.hosts[index].roleClass.map({ classesSeen.insert($0).inserted }) ?? true {
            for service in site.hosts[index].offers.keys {
                offeredInCluster[service, default: []].formUnion(site.hosts[index].clusters)
            }
        }
        for index in site.hosts.indices where !site.hosts[index].clusters.isEmpty {
            let host = site.hosts[index]
            for used in host.uses.values.sorted(by: { $0.service.id < $1.service.id })
            where used.withinCluster && used.service.scope == .network
                // No host at all: reported as an unoffered use already.
                && offeredInCluster[used.service.id].map({ $0.isDisjoint(with: host.clusters) }) ?? false
            {
                log.warning(
                    "'\(host.name)' uses \(used.service.id) within its clusters "
                        + "(\(host.clusters.sorted().joined(separator: ", "))), but no host of them offers it",
                    at: host.location,
                    fix:
                        "add the cluster to the hosts that serve it ('clusters: [...]'), or correct this host's clusters"
                )
            }
        }
        // Peers are named in `uses:`, which a host of a class has not.
        for index in site.hosts.indices where site.hosts[index].roleClass == nil {
            let host = site.hosts[index]
            // Peer services are initiated from the offering side: its narrowing counts as a use.
            let peerOffers = host.offers.values.filter { $0.peers != nil && host.uses[$0.service.id] == nil }.map {
                UsedService(
                    service: $0.service, sourcePorts: nil, roles: $0.roles, citations: [], peers: $0.peers,
                    narrowedAt: $0.narrowedAt)
            }
            for used in (Array(host.uses.values) + peerOffers).sorted(by: { $0.service.id < $1.service.id }) {
                guard let peers = used.peers else { continue }
                for peer in peers.sorted() {
                    guard let other = site.host(named: peer) else { continue }
                    if other.offers[used.service.id] == nil {
                        log.error(
                            "'\(host.name)' names '\(peer)' as a peer for \(used.service.id), "
                                + "but '\(peer)' does not offer it",
                            at: used.narrowedAt,
                            fix: "remove '\(peer)', or give it a role that offers \(used.service.id)")
                    }
                }
                checkConduits(host, used, peers: peers, site: site, log: &log)
                if peers.isEmpty {
                    log.warning(
                        "'\(host.name)' names no peers for \(used.service.id), so it may reach none",
                        at: used.narrowedAt, fix: "name its peers, or remove the entry")
                }
            }
        }
    }

    /// A conduit that lets the service cross but leaves out the host or a peer it names.
    static func checkConduits(
        _ host: ResolvedHost, _ used: UsedService, peers: Set<String>, site: ResolvedSite, log: inout DiagnosticLog
    ) {
        let zones = Set(host.addresses.map(\.zone))
        for peer in peers.sorted() {
            guard let other = site.host(named: peer) else { continue }
            for from in zones.sorted() {
                for to in Set(other.addresses.map(\.zone)).sorted() where to != from {
                    guard let conduit = site.conduit(from: from, to: to, service: used.service.id) else { continue }
                    let missing = [
                        conduit.fromHosts.map { $0.contains(host.name) } == false ? host.name : nil,
                        conduit.toHosts.map { $0.contains(peer) } == false ? peer : nil,
                    ].compactMap { $0 }
                    guard !missing.isEmpty else { continue }
                    log.warning(
                        "the conduit from '\(from)' to '\(to)' leaves out \(missing.joined(separator: " and ")), "
                            + "so '\(host.name)' cannot reach its peer '\(peer)' for \(used.service.id)",
                        at: conduit.location,
                        fix: "add \(missing.joined(separator: " and ")) to the conduit's "
                            + (missing.count == 2
                                ? "from-hosts and to-hosts" : missing[0] == peer ? "to-hosts" : "from-hosts")
                            + ", or drop the peer")
                }
            }
        }
    }

    static func resolveConduits(
        _ conduits: [Conduit], zones: [Zone], catalog: ProfileCatalog, site: Site, names: HostNames,
        groups: [String: [String]], log: inout DiagnosticLog
    ) -> [ResolvedConduit] {
        let zoneNames = zones.map(\.name)
        var result: [ResolvedConduit] = []
        for conduit in conduits {
            var ok = true
            for end in [conduit.from, conduit.to] where !zoneNames.contains(end.value) {
                log.error(
                    "conduit names unknown zone '\(end.value)'", at: end.location,
                    fix: DidYouMean.hint(for: end.value, among: zoneNames, kind: "zone"))
                ok = false
            }
            if conduit.from.value == conduit.to.value {
                log.warning(
                    (conduit.why == nil ? "conduit" : "blocked entry")
                        + " from '\(conduit.from.value)' to itself has no effect: "
                        + "flows inside a zone are always allowed",
                    at: conduit.location, fix: "remove it")
            }
            var services = Set<String>()
            for name in conduit.services {
                guard let found = catalog.servicesNamed(name.value) else {
                    let candidates = Array(catalog.services.keys) + catalog.profiles.map(\.name)
                    log.error(
                        "conduit names unknown service '\(name.value)'", at: name.location,
                        fix: DidYouMean.hint(for: name.value, among: candidates, kind: "service"))
                    ok = false
                    continue
                }
                services.formUnion(found.map(\.id))
            }
            if let operations = conduit.operations {
                if let proto = services.sorted().compactMap({ catalog.services[$0]?.operations }).first {
                    _ = checkOperations(operations, of: proto, log: &log)
                } else {
                    log.error(
                        "the conduit's services have no operation filter, so '\(operations.value)' cannot be enforced",
                        at: operations.location, fix: noOperationFilterFix)
                }
            }
            let fromHosts = conduit.fromHosts.map {
                expand($0, site: site, hostNames: names, groups: groups, what: "the conduit's from-hosts", log: &log)
            }
            let toHosts = conduit.toHosts.map {
                expand($0, site: site, hostNames: names, groups: groups, what: "the conduit's to-hosts", log: &log)
            }
            if ok {
                result.append(
                    ResolvedConduit(
                        from: conduit.from.value, to: conduit.to.value, services: services, location: conduit.location,
                        why: conduit.why, fromHosts: fromHosts, toHosts: toHosts, operations: conduit.operations?.value)
                )
            }
        }
        return result
    }
}

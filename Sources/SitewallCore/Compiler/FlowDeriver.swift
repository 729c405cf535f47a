/// A group of flows of one service: every initiator may open it to every listener.
/// Flows are kept grouped (by zone, family and port) so that their number follows services, not hosts.
public struct FlowGroup: Sendable {
    public var service: Service
    public var dports: PortSet
    public var sports: PortSet?
    public var family: IPFamily
    public var fromZone: String
    public var toZone: String
    public var initiators: MemberList
    public var listeners: MemberList
    public var initiatorRoles: [String]
    public var listenerRoles: [String]
    public var citations: [Citation]
    /// nil inside one zone.
    public var conduit: ResolvedConduit?
    /// false when the flow crosses zones without a conduit: reported, never opened.
    public var allowed: Bool
    /// Where the site asks for the flow: its conduit, or else the first listening host.
    public var location: SourceLocation?
    /// The answering direction of a mutual exchange (adapter to scanner): offerers to users.
    public var reverse = false
    /// The operations the initiators may perform (Modbus function codes); nil: all.
    public var operations: OperationFilter?
    /// Set when named peers or a conduit's host lists narrowed the group: its addresses pair only
    /// with each other, so a gateway keeps its rule apart instead of merging it with the zone's.
    public var narrowed = false

    public var crossesZones: Bool { fromZone != toZone }

    /// "hmi-1, hmi-2 and 3 more"
    static func describe(_ members: some Sequence<HostAddress>) -> String { describe(names: members.map(\.host)) }

    /// "a, b, c and 2 more", sorted and without repeats.
    static func describe(names: [String]) -> String {
        let names = Array(Set(names)).sorted()
        if names.count <= 3 { return names.joined(separator: ", ") }
        return names.prefix(3).joined(separator: ", ") + " and \(names.count - 3) more"
    }

    public var summary: String {
        let transports = service.transports.map(\.rawValue).joined(separator: "+")
        return
            "\(FlowGroup.describe(initiators)) (\(fromZone)) -> "
            + "\(FlowGroup.describe(listeners)) (\(toZone)): \(service.id) \(transports)/\(dports)"
    }
}

/// A flow group's hosts' addresses: positions in one table of the site's addresses, which every group
/// shares. A member costs four bytes instead of a copy of its name, address and zone in each group it
/// is in (at 50,000 hosts the copies were most of the memory a compile took).
public struct MemberList: RandomAccessCollection, Sendable {
    /// Every address of every host, in the order of the site's hosts.
    final class Table: Sendable {
        let addresses: [HostAddress]
        init(_ addresses: [HostAddress]) { self.addresses = addresses }
    }

    let table: Table
    private(set) var positions: [Int32]

    init(_ table: Table, positions: [Int32]) {
        self.table = table
        self.positions = positions
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { positions.count }
    public subscript(index: Int) -> HostAddress { table.addresses[Int(positions[index])] }

    /// The members `keep` says yes to, still positions in the same table.
    func keeping(_ keep: (HostAddress) -> Bool) -> MemberList {
        MemberList(table, positions: positions.filter { keep(table.addresses[Int($0)]) })
    }
}

public enum FlowDeriver {
    private struct InitiatorKey: Hashable {
        var zone: String
        var family: IPFamily
        var sports: PortSet?
        /// Named peers (`uses:`): the only listeners it pairs with.
        var peers: Set<String>? = nil
        var operations: OperationFilter? = nil
        /// The initiator's clusters, for a use within them: the only listeners are hosts of these.
        var clusters: Set<String>? = nil

        static func less(_ a: InitiatorKey, _ b: InitiatorKey) -> Bool {
            func narrowing(_ key: InitiatorKey) -> String {
                (key.peers.map { $0.sorted().joined(separator: ",") } ?? "") + "|"
                    + (key.operations?.description ?? "") + "|"
                    + (key.clusters.map { $0.sorted().joined(separator: ",") } ?? "")
            }
            return (a.zone, a.family, a.sports?.description ?? "", narrowing(a))
                < (b.zone, b.family, b.sports?.description ?? "", narrowing(b))
        }
    }
    private struct ListenerKey: Hashable {
        var zone: String
        var family: IPFamily
        var ports: PortSet
    }
    fileprivate struct Bucket {
        /// The parts that joined it (positions in the address table), each shared with every bucket
        /// it joined (not copied into each).
        var parts: [[Int32]] = []
        var roles: [String] = []
        var citations: [Citation] = []
    }

    /// Every flow group of the site, allowed and not, in a stable order.
    public static func derive(_ site: ResolvedSite) -> [FlowGroup] {
        var initiators: [String: [InitiatorKey: Bucket]] = [:]
        var listeners: [String: [ListenerKey: Bucket]] = [:]
        var services: [String: Service] = [:]
        // Mutual services: offerers answer users from the same port (adapter to scanner).
        var reverseInitiators: [String: [InitiatorKey: Bucket]] = [:]
        var reverseListeners: [String: [ListenerKey: Bucket]] = [:]

        // Each class of hosts once, with all its addresses, where its first host stands (buckets keep
        // their roles and citations in the order they are met). Addresses are positions in one table.
        var all: [HostAddress] = []
        var count = 0
        for index in site.hosts.indices { count += site.hosts[index].addresses.count }
        all.reserveCapacity(count)
        var units: [(host: Int, addresses: [Int32])] = []
        var unitOfClass: [Int: Int] = [:]
        // By index: a host is a large value, and copying each to read two fields would cost more.
        for index in site.hosts.indices {
            let first = Int32(all.count)
            all += site.hosts[index].addresses
            let positions = Array(first..<Int32(all.count))
            guard let roleClass = site.hosts[index].roleClass else {
                units.append((index, positions))
                continue
            }
            if let unit = unitOfClass[roleClass] {
                units[unit].addresses += positions
            } else {
                unitOfClass[roleClass] = units.count
                units.append((index, positions))
            }
        }
        let table = MemberList.Table(all)
        for (index, addresses) in units {
            let host = site.hosts[index]
            // The unit's addresses by zone and family: each part joins the same buckets at once.
            var parts: [(zone: String, family: IPFamily, members: [Int32])] = []
            for position in addresses {
                let address = all[Int(position)]
                if let part = parts.firstIndex(where: { $0.zone == address.zone && $0.family == address.address.family }
                ) {
                    parts[part].members.append(position)
                } else {
                    parts.append((address.zone, address.address.family, [position]))
                }
            }
            for offered in host.offers.values
            where offered.service.scope == .network && (!offered.ports.isEmpty || offered.service.isPortless) {
                let service = offered.service
                services[service.id] = service
                for part in parts where service.family.map({ $0 == part.family }) ?? true {
                    let key = ListenerKey(zone: part.zone, family: part.family, ports: offered.ports)
                    listeners[service.id, default: [:]][key, default: Bucket()].add(
                        part.members, roles: offered.roles, citations: offered.citations)
                    if service.initiation == .mutual {
                        let ikey = InitiatorKey(zone: part.zone, family: part.family, sports: service.sourcePorts)
                        reverseInitiators[service.id, default: [:]][ikey, default: Bucket()].add(
                            part.members, roles: offered.roles, citations: offered.citations)
                    }
                    if service.initiation == .peer {
                        // A symmetric service (BACnet: 47808 to 47808) sends from its own port, moved or not.
                        let symmetric = service.sourcePorts != nil && service.sourcePorts == service.ports
                        let ikey = InitiatorKey(
                            zone: part.zone, family: part.family,
                            sports: symmetric ? offered.ports : service.sourcePorts, peers: offered.peers,
                            operations: offered.operations)
                        initiators[service.id, default: [:]][ikey, default: Bucket()].add(
                            part.members, roles: offered.roles, citations: offered.citations)
                    }
                }
            }
            for used in host.uses.values where used.service.scope == .network {
                let service = used.service
                services[service.id] = service
                for part in parts where service.family.map({ $0 == part.family }) ?? true {
                    let key = InitiatorKey(
                        zone: part.zone, family: part.family, sports: used.sourcePorts, peers: used.peers,
                        operations: used.operations,
                        clusters: used.withinCluster && !host.clusters.isEmpty ? host.clusters : nil)
                    initiators[service.id, default: [:]][key, default: Bucket()].add(
                        part.members, roles: used.roles, citations: used.citations)
                    if service.initiation == .mutual, let ports = service.ports {
                        let lkey = ListenerKey(zone: part.zone, family: part.family, ports: ports)
                        reverseListeners[service.id, default: [:]][lkey, default: Bucket()].add(
                            part.members, roles: used.roles, citations: used.citations)
                    }
                }
            }
        }

        // A gateway is reached (and reaches out) on its address in the peer's own zone; its
        // addresses in other zones are not a path between zones.
        var gatewayZones: [String: Set<String>] = [:]
        for host in site.gateways { gatewayZones[host.name] = Set(host.addresses.map(\.zone)) }
        func local(_ members: Members, toward zone: String) -> MemberList {
            // Only a gateway's addresses can go: the rest stay without a look (a bucket can be the whole site).
            let away = members.gateways.filter { index in
                let member = all[Int(members.list[index])]
                return gatewayZones[member.host]?.contains(zone) == true && member.zone != zone
            }
            guard !away.isEmpty else { return MemberList(table, positions: members.list) }
            var list = members.list
            for index in away.reversed() { list.remove(at: index) }
            return MemberList(table, positions: list)
        }

        // A site has few gateways: a short list is searched faster than every member is hashed.
        let gatewayAddresses = site.gateways.flatMap { $0.addresses.map(\.address) }
        // Each bucket's members, deduplicated and sorted once (a bucket pairs with many others).
        struct MemberKey: Hashable {
            var service: String
            var initiator: InitiatorKey?
            var listener: ListenerKey?
            var reverse: Bool
        }
        /// A bucket's members (positions in the table), and where the gateways' addresses are among them.
        struct Members {
            var list: [Int32]
            var gateways: [Int]
        }
        var sortedMembers: [MemberKey: Members] = [:]
        func members(_ bucket: Bucket, key: MemberKey) -> Members {
            if let cached = sortedMembers[key] { return cached }
            // Sorted by address, then name: repeats end up side by side (cheaper than hashing names).
            var list = Array(bucket.parts.joined())
            // Addresses compared in place (a copy of each member would retain its two strings); names and
            // zones only break ties.
            list.sort { a, b in
                let (x, y) = (all[Int(a)].address, all[Int(b)].address)
                if x != y { return x < y }
                return (all[Int(a)].host, all[Int(a)].zone) < (all[Int(b)].host, all[Int(b)].zone)
            }
            var value = Members(list: [], gateways: [])
            var kept = 0
            for index in list.indices where kept == 0 || all[Int(list[kept - 1])] != all[Int(list[index])] {
                if gatewayAddresses.contains(all[Int(list[index])].address) { value.gateways.append(kept) }
                list.swapAt(kept, index)
                kept += 1
            }
            list.removeSubrange(kept...)
            value.list = list
            sortedMembers[key] = value
            return value
        }

        var groups: [FlowGroup] = []
        func pair(
            _ serviceID: String, _ service: Service, from initiating: [InitiatorKey: Bucket],
            to listening: [ListenerKey: Bucket], reverse: Bool
        ) {
            let from = initiating.sorted { InitiatorKey.less($0.key, $1.key) }
            let to = listening.sorted {
                ($0.key.zone, $0.key.family, $0.key.ports.description) < (
                    $1.key.zone, $1.key.family, $1.key.ports.description
                )
            }
            for (ikey, ibucket) in from {
                for (lkey, lbucket) in to where ikey.family == lkey.family {
                    // A host talking to itself goes over loopback, which is always allowed.
                    var from = local(
                        members(
                            ibucket,
                            key: MemberKey(service: serviceID, initiator: ikey, listener: nil, reverse: reverse)),
                        toward: lkey.zone)
                    var to = local(
                        members(
                            lbucket,
                            key: MemberKey(service: serviceID, initiator: nil, listener: lkey, reverse: reverse)),
                        toward: ikey.zone)
                    var narrowed = false
                    if let peers = ikey.peers {
                        to = to.keeping { peers.contains($0.host) }
                        narrowed = true
                    }
                    if let clusters = ikey.clusters {
                        to = to.keeping { !(site.host(named: $0.host)?.clusters.isDisjoint(with: clusters) ?? true) }
                        narrowed = true
                    }
                    // The answering direction of a mutual exchange crosses the conduit that opens the exchange.
                    let conduit =
                        ikey.zone == lkey.zone
                        ? nil
                        : reverse
                            ? site.conduit(from: lkey.zone, to: ikey.zone, service: serviceID)
                            : site.conduit(from: ikey.zone, to: lkey.zone, service: serviceID)
                    // A conduit that names hosts carries only theirs; the rest of the zone stays closed, as written.
                    if let conduit {
                        let (initiating, listening) =
                            reverse ? (conduit.toHosts, conduit.fromHosts) : (conduit.fromHosts, conduit.toHosts)
                        if let initiating { from = from.keeping { initiating.contains($0.host) } }
                        if let listening { to = to.keeping { listening.contains($0.host) } }
                        narrowed = narrowed || initiating != nil || listening != nil
                    }
                    // A lone initiator that also listens (a peer) does not reach itself over the network.
                    if let only = from.first?.host, from.allSatisfy({ $0.host == only }) {
                        to = to.keeping { $0.host != only }
                    }
                    if from.isEmpty || to.isEmpty { continue }
                    // A narrowed side names the roles of the hosts left in it (its sets and comments say so).
                    func roles(_ members: MemberList, _ bucket: Bucket) -> [String] {
                        guard narrowed else { return bucket.roles.sorted() }
                        let names = Set(members.map(\.host))
                        return bucket.roles.filter { role in
                            names.contains { name in
                                guard let host = site.host(named: name) else { return false }
                                return (host.offers[serviceID]?.roles ?? []).contains(role)
                                    || (host.uses[serviceID]?.roles ?? []).contains(role)
                            }
                        }.sorted()
                    }
                    var operations = ikey.operations
                    if let spec = conduit?.operations, let proto = service.operations, proto.accepts(spec) {
                        let allowed = OperationFilter(proto, spec: spec)
                        operations = operations.map { $0.intersection(allowed) } ?? allowed
                    }
                    groups.append(
                        FlowGroup(
                            service: service, dports: lkey.ports, sports: ikey.sports, family: ikey.family,
                            fromZone: ikey.zone, toZone: lkey.zone,
                            initiators: from, listeners: to,
                            initiatorRoles: roles(from, ibucket), listenerRoles: roles(to, lbucket),
                            citations: uniqued(ibucket.citations + lbucket.citations + service.citations),
                            conduit: conduit, allowed: ikey.zone == lkey.zone || conduit != nil,
                            location: conduit?.location ?? site.host(named: to[0].host)?.location,
                            reverse: reverse, operations: operations, narrowed: narrowed))
                }
            }
        }
        for serviceID in services.keys.sorted() {
            let service = services[serviceID]!
            pair(
                serviceID, service, from: initiators[serviceID] ?? [:], to: listeners[serviceID] ?? [:], reverse: false)
            if service.initiation == .mutual {
                pair(
                    serviceID, service, from: reverseInitiators[serviceID] ?? [:],
                    to: reverseListeners[serviceID] ?? [:], reverse: true)
            }
        }
        return groups
    }

    static func uniqued<T: Hashable>(_ items: [T]) -> [T] {
        var seen = Set<T>()
        return items.filter { seen.insert($0).inserted }
    }
}

extension FlowDeriver.Bucket {
    mutating func add(_ addresses: [Int32], roles newRoles: [String], citations newCitations: [Citation]) {
        parts.append(addresses)
        for role in newRoles where !roles.contains(role) { roles.append(role) }
        for citation in newCitations where !citations.contains(citation) { citations.append(citation) }
    }
}

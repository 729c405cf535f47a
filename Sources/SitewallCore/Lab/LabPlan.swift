/// The network-namespace lab for a site: one namespace per host and gateway, one bridge per zone
/// in a fabric namespace, addresses and routes so that zones reach each other only through gateways.
public struct LabPlan: Sendable {
    public struct Interface: Sendable {
        public var name: String
        public var zone: String
        /// address/prefix-length, as `ip addr add` takes it
        public var addresses: [String]
        /// the veth end in the fabric namespace, enslaved to the zone's bridge
        public var fabricPeer: String
    }

    public struct Node: Sendable {
        public var host: String
        public var namespace: String
        public var isGateway: Bool
        /// A rule-free station in one zone, the source of probes that test one host's input alone.
        public var isProbe = false
        public var interfaces: [Interface]
        /// (family, gateway address) default routes
        public var routes: [(IPFamily, IPAddress)]
    }

    public var prefix: String
    public var fabric: String
    public var bridges: [String: String]
    public var nodes: [Node]

    public func node(for host: String) -> Node? { nodes.first { $0.host == host } }

    public var namespaces: [String] { [fabric] + nodes.map(\.namespace) }

    /// Plans the lab; `prefix` keeps two runs apart (namespace names must be unique on the machine).
    public static func make(_ site: ResolvedSite, prefix: String) -> LabPlan {
        var plan = LabPlan(prefix: prefix, fabric: "\(prefix)-fabric", bridges: [:], nodes: [])
        for (index, zone) in site.zones.enumerated() { plan.bridges[zone.name] = "br\(index)" }
        var used = Set(site.hosts.flatMap { $0.addresses.map(\.address) })
        var peerCount = 0
        // Gateway addresses per zone and family, so that hosts can route through them.
        var gatewayAddress: [String: [IPFamily: IPAddress]] = [:]

        // A site without gateways still has a router somewhere; the lab stands in a plain one
        // (no rules: the hosts' own rulesets decide) so that cross-zone flows can be probed.
        var hosts = site.hosts
        if LabPlan.needsImplicitRouter(site) {
            hosts.append(
                ResolvedHost(
                    name: LabPlan.implicitRouter, addresses: [], roles: [], offers: [:], uses: [:],
                    interfaces: Dictionary(uniqueKeysWithValues: site.zones.enumerated().map { ($1.name, "r\($0)") }),
                    location: nil))
        }
        for (index, host) in hosts.enumerated() {
            var node = Node(
                host: host.name, namespace: "\(prefix)-\(index)", isGateway: host.isGateway, interfaces: [], routes: [])
            var zones: [(zone: String, name: String)] = []
            if let interfaces = host.interfaces {
                zones = site.zones.compactMap { zone in interfaces[zone.name].map { (zone.name, $0) } }
            }
            for address in host.addresses where !zones.contains(where: { $0.zone == address.zone }) {
                zones.append((address.zone, "eth\(zones.count)"))
            }
            for (zoneName, interfaceName) in zones {
                guard let zone = site.zone(named: zoneName) else { continue }
                var addresses = host.addresses.filter { $0.zone == zoneName }.map(\.address)
                if host.isGateway {
                    // A gateway needs an address in each of its zones and families to route for it.
                    for family in [IPFamily.ipv4, .ipv6] where !addresses.contains(where: { $0.family == family }) {
                        let needed = site.hosts.contains {
                            $0.addresses.contains { $0.zone == zoneName && $0.address.family == family }
                        }
                        if needed, let network = zone.networks.first(where: { $0.family == family }),
                            let free = freeAddress(in: network, avoiding: used)
                        {
                            used.insert(free)
                            addresses.append(free)
                        }
                    }
                    for address in addresses where gatewayAddress[zoneName]?[address.family] == nil {
                        gatewayAddress[zoneName, default: [:]][address.family] = address
                    }
                }
                let withPrefix = addresses.map { address -> String in
                    let length =
                        zone.networks.filter { $0.contains(address) }.map(\.prefixLength).max()
                        ?? (address.family == .ipv4 ? 32 : 128)
                    return "\(address)/\(length)"
                }
                peerCount += 1
                node.interfaces.append(
                    Interface(name: interfaceName, zone: zoneName, addresses: withPrefix, fabricPeer: "p\(peerCount)"))
            }
            plan.nodes.append(node)
        }
        // One rule-free probe station per zone: a host's input is tested without a peer's output in the way.
        for zone in site.zones {
            var addresses: [String] = []
            for family in [IPFamily.ipv4, .ipv6] {
                let needed = site.hosts.contains {
                    $0.addresses.contains { $0.zone == zone.name && $0.address.family == family }
                }
                if needed, let network = zone.networks.first(where: { $0.family == family }),
                    let free = freeAddress(in: network, avoiding: used)
                {
                    used.insert(free)
                    addresses.append("\(free)/\(network.prefixLength)")
                }
            }
            guard !addresses.isEmpty else { continue }
            peerCount += 1
            plan.nodes.append(
                Node(
                    host: LabPlan.probeHost(zone.name), namespace: "\(prefix)-p\(plan.nodes.count)", isGateway: false,
                    isProbe: true,
                    interfaces: [
                        Interface(name: "eth0", zone: zone.name, addresses: addresses, fabricPeer: "p\(peerCount)")
                    ],
                    routes: []))
        }
        // Hosts route everything off-link through their zone's gateway.
        for index in plan.nodes.indices where !plan.nodes[index].isGateway {
            var routes: [(IPFamily, IPAddress)] = []
            for interface in plan.nodes[index].interfaces {
                for (family, address) in (gatewayAddress[interface.zone] ?? [:]).sorted(by: { $0.key < $1.key })
                where !routes.contains(where: { $0.0 == family })
                    && interface.addresses.contains(where: { IPAddress($0.split(separator: "/")[0])?.family == family })
                {
                    routes.append((family, address))
                }
            }
            plan.nodes[index].routes = routes
        }
        return plan
    }

    /// The name of a zone's probe station.
    public static func probeHost(_ zone: String) -> String { "(probe \(zone))" }

    /// The probe stations' addresses, as hosts of the site would have them.
    public var probeAddresses: [HostAddress] {
        nodes.filter(\.isProbe).flatMap { node in
            node.interfaces.flatMap { interface in
                interface.addresses.compactMap { text in
                    IPAddress(text.split(separator: "/")[0]).map {
                        HostAddress(host: node.host, address: $0, zone: interface.zone)
                    }
                }
            }
        }
    }

    /// The name of the stand-in router of a site that declares no gateway.
    public static let implicitRouter = "(router)"

    public static func needsImplicitRouter(_ site: ResolvedSite) -> Bool {
        site.zones.count > 1 && !site.hosts.contains(where: \.isGateway)
    }

    static func freeAddress(in network: IPNetwork, avoiding used: Set<IPAddress>) -> IPAddress? {
        let hostBits = network.family.bitWidth - network.prefixLength
        let limit: UInt128 = hostBits >= 16 ? 65_000 : (UInt128(1) << UInt128(hostBits)) - 1
        var offset: UInt128 = 1
        while offset < limit {
            let candidate = IPAddress(family: network.family, value: network.address.value + offset)
            if !used.contains(candidate) { return candidate }
            offset += 1
        }
        return nil
    }

    /// The `ip -batch` lines that build the lab, per namespace they run in ("" = the caller's,
    /// used only to add namespaces; every link is created inside the fabric namespace).
    public var commands: [(namespace: String?, lines: [String])] {
        var result: [(String?, [String])] = [(nil, namespaces.map { "netns add \($0)" })]
        var fabricLines = ["link set lo up"]
        for (_, bridge) in bridges.sorted(by: { $0.value < $1.value }) {
            fabricLines += ["link add \(bridge) type bridge", "link set \(bridge) up"]
        }
        for node in nodes {
            for interface in node.interfaces {
                fabricLines.append(
                    "link add \(interface.fabricPeer) type veth peer name \(interface.name) netns \(node.namespace)")
                fabricLines.append("link set \(interface.fabricPeer) master \(bridges[interface.zone]!) up")
            }
        }
        result.append((fabric, fabricLines))
        for node in nodes {
            var lines = ["link set lo up"]
            for interface in node.interfaces {
                for address in interface.addresses {
                    lines.append("addr add \(address) dev \(interface.name)" + (address.contains(":") ? " nodad" : ""))
                }
                lines.append("link set \(interface.name) up")
            }
            for (_, via) in node.routes {
                lines.append("route add default via \(via)")
            }
            result.append((node.namespace, lines))
        }
        return result
    }
}

/// One address of a host and the zone it sits in.
public struct HostAddress: Hashable, Sendable, Comparable {
    public var host: String
    public var address: IPAddress
    public var zone: String

    public static func < (lhs: HostAddress, rhs: HostAddress) -> Bool { lhs.address < rhs.address }
}

/// A service a host listens on, with the port it really uses there.
public struct OfferedService: Sendable, Hashable {
    public var service: Service
    public var ports: PortSet
    public var roles: [String]
    /// The vendor rows for the roles' offering it (the listener's side of every rule).
    public var citations: [Citation] = []
    /// A peer service (BACnet) is initiated by those who offer it: `uses:` narrows that side too.
    public var peers: Set<String>? = nil
    public var operations: OperationFilter? = nil
    public var narrowedAt: SourceLocation? = nil
}

/// A service a host connects to.
public struct UsedService: Sendable, Hashable {
    public var service: Service
    public var sourcePorts: PortSet?
    public var roles: [String]
    public var citations: [Citation]
    /// Every role that brings it in marks it optional (`optional: true` in the profile).
    public var optional = false
    /// The only hosts it goes to (`uses:` of the host, groups expanded); nil: every host that offers it.
    public var peers: Set<String>?
    /// The operations it may perform (`uses:` of the host).
    public var operations: OperationFilter?
    /// Where the site narrows it, for messages.
    public var narrowedAt: SourceLocation?
    /// Every role that brings it in uses it only within the host's clusters.
    public var withinCluster = false
}

public struct ResolvedHost: Sendable {
    public var name: String
    public var addresses: [HostAddress]
    public var roles: [Role]
    public var offers: [String: OfferedService]
    public var uses: [String: UsedService]
    /// zone -> interface, for gateways.
    public var interfaces: [String: String]?
    /// Hosts that must keep SSH access to this one (checked by `apply`).
    public var management: [String] = []
    /// Its clusters (`clusters:`), for uses marked within-cluster.
    public var clusters: Set<String> = []
    public var location: SourceLocation?
    /// Hosts of one class have the same roles and no ports, uses or clusters of their own, so they
    /// offer and use the same: flow derivation takes each class once (nil: a host of its own).
    public var roleClass: Int? = nil
    /// The host as the site file writes it, kept only when it names management hosts or moves ports:
    /// checks after resolving point at those entries. The rest of the site as written is released.
    public var written: WrittenHost? = nil

    public var isGateway: Bool { interfaces != nil }
}

/// A host as written, boxed: most resolved hosts keep none, and a box costs them 8 bytes, not 136.
public final class WrittenHost: Sendable {
    public let host: Host
    init(_ host: Host) { self.host = host }
}

public struct ResolvedConduit: Sendable, Hashable {
    public var from: String
    public var to: String
    public var services: Set<String>
    public var location: SourceLocation?
    /// For an acknowledged block: why it is meant.
    public var why: String?
    /// Only these hosts of each side (groups expanded); nil: the whole zone.
    public var fromHosts: Set<String>? = nil
    public var toHosts: Set<String>? = nil
    /// The operations it lets through, for its services that have an operation filter.
    public var operations: OperationSpec? = nil
}

/// A site checked against the profiles: zones known, roles resolved, ports final.
public struct ResolvedSite: Sendable {
    public var site: Site
    public var catalog: ProfileCatalog
    public var zones: [Zone]
    public private(set) var hosts: [ResolvedHost]
    /// Host name -> index in `hosts`: lookups by name are constant time at any site size.
    private var hostIndex: [String: Int] = [:]
    /// Indices of the gateways in `hosts`: a site has few, and paths between zones ask for them often.
    private var gatewayIndices: [Int] = []
    public var conduits: [ResolvedConduit]
    /// Acknowledged blocks (`blocked:` in the site file).
    public var blocked: [ResolvedConduit] = []
    /// Group name -> its hosts.
    public var groups: [String: [String]] = [:]

    public init(site: Site, catalog: ProfileCatalog, zones: [Zone], conduits: [ResolvedConduit] = []) {
        self.site = site
        self.catalog = catalog
        self.zones = zones
        self.hosts = []
        self.conduits = conduits
    }

    /// Releases the site's hosts as written once they are resolved: the resolved hosts say the same,
    /// and the few entries checks point at stay with their host (`ResolvedHost.written`).
    mutating func releaseWrittenHosts() { site.removeHosts() }

    public mutating func reserveCapacity(hosts count: Int) {
        hosts.reserveCapacity(count)
        hostIndex.reserveCapacity(count)
    }

    /// Adds a host (its name is unique in the site).
    public mutating func add(_ host: consuming ResolvedHost) {
        hostIndex[host.name] = hosts.count
        if host.isGateway { gatewayIndices.append(hosts.count) }
        hosts.append(host)
    }

    public var gateways: [ResolvedHost] { gatewayIndices.map { hosts[$0] } }

    /// The first gateway with an interface in both zones: the one that forwards between them.
    public func gateway(joining first: String, _ second: String) -> ResolvedHost? {
        gatewayIndices.lazy.map { hosts[$0] }.first { $0.interfaces?[first] != nil && $0.interfaces?[second] != nil }
    }

    public func host(named name: String) -> ResolvedHost? { hostIndex[name].map { hosts[$0] } }

    public func zone(named name: String) -> Zone? { zones.first { $0.name == name } }

    /// The conduit that lets `service` be initiated from one zone into another, if any.
    public func conduit(from: String, to: String, service: String) -> ResolvedConduit? {
        conduits.first { $0.from == from && $0.to == to && $0.services.contains(service) }
    }

    /// The `blocked:` entry that says a flow of `service` from one zone into another is meant to stay closed.
    public func block(from: String, to: String, service: String) -> ResolvedConduit? {
        blocked.first { $0.from == from && $0.to == to && $0.services.contains(service) }
    }
}

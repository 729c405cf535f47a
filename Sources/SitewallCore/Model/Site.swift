/// A value read from the site file, with where it was written.
public struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
    public var value: Value
    public var location: SourceLocation?

    public init(_ value: Value, at location: SourceLocation?) {
        self.value = value
        self.location = location
    }
}

public struct Zone: Sendable, Hashable {
    public var name: String
    public var networks: [IPNetwork]
    public var location: SourceLocation?
}

public struct GatewaySpec: Sendable, Hashable {
    /// zone name -> interface name, in file order.
    public var interfaces: [Located<ZoneInterface>]
}

public struct ZoneInterface: Sendable, Hashable {
    public var zone: String
    public var interface: String
}

public struct Host: Sendable, Hashable {
    public var name: String
    public var addresses: [Located<IPAddress>]
    /// Given when the address alone does not say (or to state it explicitly).
    public var zone: Located<String>?
    public var roles: [Located<String>]
    /// Per-host port overrides for services the host offers.
    public var ports: [Located<PortOverride>]
    public var gateway: GatewaySpec?
    /// Hosts that must always be able to manage this one over SSH (the apply lockout guard).
    public var management: [Located<String>] = []
    /// Clusters the host belongs to (Plant SCADA): uses marked within-cluster reach only hosts of these.
    public var clusters: [Located<String>] = []
    /// Narrowed uses: the peers (hosts or groups) and operations of a service the host's roles use.
    public var uses: [Located<UseSpec>] = []
    public var location: SourceLocation?
}

/// `uses: { modbus: [meter-1, plc-2] }` or `{ modbus: { peers: [...], operations: read-only } }`.
public struct UseSpec: Sendable, Hashable {
    /// A service id or a profile name (every service of it the host uses).
    public var service: String
    /// Hosts or groups; nil: every host that offers it, as without the entry.
    public var peers: [Located<String>]?
    public var operations: Located<OperationSpec>?
}

/// `groups: { meters: [meter-1, meter-2] }`: a name for several hosts, for peers and conduits.
public struct HostGroup: Sendable, Hashable {
    public var name: String
    public var members: [Located<String>]
    public var location: SourceLocation?
}

public struct PortOverride: Sendable, Hashable {
    public var service: String
    public var ports: PortSet
}

public struct Conduit: Sendable, Hashable {
    public var from: Located<String>
    public var to: Located<String>
    /// Service ids or whole profile names.
    public var services: [Located<String>]
    /// Only these hosts (or groups) of each side; nil: the whole zone.
    public var fromHosts: [Located<String>]? = nil
    public var toHosts: [Located<String>]? = nil
    /// The operations the conduit lets through, for its services that have an operation filter.
    public var operations: Located<OperationSpec>? = nil
    /// Why an acknowledged block is meant (in `blocked:` only).
    public var why: String?
    public var location: SourceLocation?
}

/// The site description as written: hosts, zones, conduits. Not yet checked against profiles.
public struct Site: Sendable {
    public var name: String
    public var file: String
    public var zones: [Zone]
    /// No index by name: the resolver makes one, and the resolved site's serves after it (at 50,000
    /// hosts a third would cost 3 MiB for a few lookups). Empty in a resolved site's copy: its hosts
    /// are released once resolved.
    public private(set) var hosts: [Host] = []
    public var conduits: [Conduit]
    /// Cross-zone flows the roles imply that are meant to stay blocked (silences their warning).
    public var blocked: [Conduit] = []
    public var groups: [HostGroup] = []
    /// Counters and drop logging (`observe:`); off unless the site asks.
    public var observe = SiteObservation()

    public init(name: String, file: String, zones: [Zone] = [], conduits: [Conduit] = []) {
        self.name = name
        self.file = file
        self.zones = zones
        self.conduits = conduits
    }

    public mutating func reserveCapacity(hosts count: Int) { hosts.reserveCapacity(count) }

    public mutating func add(_ host: consuming Host) { hosts.append(host) }

    mutating func removeHosts() { hosts = [] }

    /// The first host of the name, searched in order: for a few lookups.
    public func host(named name: String) -> Host? { hosts.first { $0.name == name } }
}

/// What a site asks its rulesets to record (`observe:`): both off by default.
public struct SiteObservation: Sendable, Hashable {
    /// A named counter on every flow rule and on each chain's (and zone pair's) final drop, read back by
    /// `sitewall stats`; `sitewall apply` carries their values over when it replaces the table.
    public var counters = false
    public var logDrops: DropLogging?

    public init(counters: Bool = false, logDrops: DropLogging? = nil) {
        self.counters = counters
        self.logDrops = logDrops
    }
}

/// Log what a chain drops, per chain (input, output) and per zone pair (a gateway's forward), at most
/// `rate` packets, to the kernel log with `prefix`, or to NFLOG `group` for a collector.
public struct DropLogging: Sendable, Hashable, Codable {
    public var rate: RateLimit
    public var prefix: String
    public var group: UInt16?

    public static let defaultRate = RateLimit(rate: 10, per: .minute)
    public static let defaultPrefix = "sitewall"

    public init(
        rate: RateLimit = DropLogging.defaultRate, prefix: String = DropLogging.defaultPrefix, group: UInt16? = nil
    ) {
        self.rate = rate
        self.prefix = prefix
        self.group = group
    }
}

/// The backend-neutral result of compiling a site for one enforcement point (a host or a gateway).
/// Every backend renders this; readback of a running ruleset produces it too.
public struct Policy: Sendable, Hashable, Codable {
    public static let formatVersion = 1

    public var version: Int = Policy.formatVersion
    public var site: String
    public var target: Target
    public var table: Table

    public init(site: String, target: Target, table: Table) {
        self.site = site
        self.target = target
        self.table = table
    }
}

public struct Target: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable { case host, gateway }

    public var kind: Kind
    public var name: String

    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    public var description: String { "\(kind.rawValue) \(name)" }
}

/// sitewall owns exactly one table and replaces it whole.
public struct Table: Sendable, Hashable, Codable {
    public static let defaultName = "sitewall"

    public var family: String = "inet"
    public var name: String = Table.defaultName
    public var helpers: [ConntrackHelper] = []
    public var sets: [AddressSet] = []
    public var chains: [Chain] = []
    /// Named counters the rules count into (`observe: counters`); nil when there are none.
    public var counters: [String]?

    public init() {}

    public func chain(named name: String) -> Chain? { chains.first { $0.name == name } }
    public func set(named name: String) -> AddressSet? { sets.first { $0.name == name } }
}

/// A named set of addresses of one family, looked up by rules.
public struct AddressSet: Sendable, Hashable, Codable {
    public var name: String
    public var family: IPFamily
    public var elements: [IPAddress]
    public var comment: String?
}

public enum Hook: String, Sendable, Hashable, Codable { case input, output, forward, prerouting, postrouting }

public enum ChainPolicy: String, Sendable, Hashable, Codable { case accept, drop }

public struct Chain: Sendable, Hashable, Codable {
    public var name: String
    public var hook: Hook
    public var priority: Int
    public var policy: ChainPolicy
    public var rules: [Rule]
}

public enum CtState: String, Sendable, Hashable, Codable, Comparable {
    case invalid, established, related, new, untracked

    public static func < (lhs: CtState, rhs: CtState) -> Bool { lhs.rawValue < rhs.rawValue }
}

public enum Verdict: String, Sendable, Hashable, Codable { case accept, drop }

/// An address match: a named set, literal addresses, or one network (a multicast scope).
public enum AddressMatch: Sendable, Hashable, Codable {
    case set(String)
    case addresses([IPAddress])
    case network(IPNetwork)

    private enum CodingKeys: String, CodingKey { case set, addresses, network }

    /// JSON: {"set": "name"}, {"addresses": ["10.0.0.1"]} or {"network": "239.192.0.0/14"}.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let name = try container.decodeIfPresent(String.self, forKey: .set) {
            self = .set(name)
        } else if let network = try container.decodeIfPresent(IPNetwork.self, forKey: .network) {
            self = .network(network)
        } else {
            self = .addresses(try container.decode([IPAddress].self, forKey: .addresses))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .set(let name): try container.encode(name, forKey: .set)
        case .addresses(let list): try container.encode(list, forKey: .addresses)
        case .network(let network): try container.encode(network, forKey: .network)
        }
    }
}

/// One rule: all present matches must hold; then the helper is set and the verdict applies.
public struct Rule: Sendable, Hashable, Codable {
    /// Loopback is matched by interface index (`iif "lo"`), zone links by name.
    public var iif: String?
    public var oif: String?
    public var iifname: String?
    public var oifname: String?
    public var ctState: [CtState]?
    /// Needed when addresses are matched; implied by the set's family.
    public var family: IPFamily?
    public var saddr: AddressMatch?
    public var daddr: AddressMatch?
    public var transport: Transport?
    public var sport: PortSet?
    public var dport: PortSet?
    /// ICMPv6 neighbour-discovery types (with hop limit 255, so only on-link senders match).
    public var icmpv6Types: [String]?
    /// TCP segments without SYN only (`tcp flags ! syn`): the replies of sessions conntrack picked up
    /// mid-stream; never a connection's opening.
    public var withoutSYN: Bool?
    /// Tests of the segment's payload (an operation filter), all of which must hold.
    public var payload: [PayloadMatch]?
    /// A token bucket on the rule (ICMP echo): packets beyond it fall through to the chain policy.
    public var limit: RateLimit?
    /// The table's named counter this rule counts into (before its limit: every packet that matches).
    public var counter: String?
    /// Logs what the rule matches (a chain's final drop, `observe: log_drops`).
    public var log: LogAction?
    public var helper: ConntrackHelper?
    public var verdict: Verdict
    /// Read back from a running ruleset: expressions sitewall never emits, as libnftnl or nft
    /// prints them. Such a rule is reported, never dropped silently.
    public var foreign: String?
    public var comment: String?
    /// Why this rule exists: the flow and its sources. Not rendered into matches.
    public var origin: RuleOrigin?

    public init(verdict: Verdict) { self.verdict = verdict }

    /// What the rule matches and does, in one normal form, without its comment or provenance: the
    /// rule's identity for diff and order (never its text).
    public var identity: Rule {
        var bare = self
        bare.comment = nil
        bare.origin = nil
        guard foreign == nil else { return bare }
        bare.ctState = ctState.map { CtStateMatch.order.filter($0.contains) }
        // A list of addresses has no order (nft keeps it as a set).
        if case .addresses(let list) = saddr { bare.saddr = .addresses(list.sorted()) }
        if case .addresses(let list) = daddr { bare.daddr = .addresses(list.sorted()) }
        if let types = icmpv6Types {
            bare.icmpv6Types = ICMPv6Match.sorted(types)
            bare.family = .ipv6
        }
        return bare
    }
}

/// What a named counter has counted.
public struct CounterValue: Sendable, Hashable, Codable {
    public var packets: UInt64
    public var bytes: UInt64

    public init(packets: UInt64 = 0, bytes: UInt64 = 0) {
        self.packets = packets
        self.bytes = bytes
    }
}

/// `log prefix "..."` (the kernel log, level warning) or `log prefix "..." group N` (NFLOG).
public struct LogAction: Sendable, Hashable, Codable {
    public var prefix: String
    public var group: UInt16?

    public init(prefix: String, group: UInt16? = nil) {
        self.prefix = prefix
        self.group = group
    }

    /// The kernel keeps at most 127 characters of a prefix.
    public static let prefixLimit = 127
}

/// `limit rate 10/second`: packets per second or minute, with nft's default burst of 5 packets.
public struct RateLimit: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Unit: String, Sendable, Hashable, Codable {
        case second, minute

        public var seconds: UInt64 { self == .second ? 1 : 60 }
    }

    public var rate: UInt32
    public var per: Unit
    public static let burst: UInt32 = 5

    public init(rate: UInt32, per: Unit) {
        self.rate = rate
        self.per = per
    }

    /// "10/second"
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let rate = UInt32(parts[0]), rate > 0, let unit = Unit(rawValue: String(parts[1]))
        else { return nil }
        self.init(rate: rate, per: unit)
    }

    public var description: String { "\(rate)/\(per.rawValue)" }
}

/// The flow a rule implements, for comments, reports and diffs.
public struct RuleOrigin: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Baseline: loopback, conntrack state, neighbour discovery.
        case baseline
        /// A derived flow, initiator -> listener.
        case flow
        /// The answer to a broadcast request, which conntrack cannot pair.
        case reply
        /// A chain's final drop, counted and logged (`observe:`): from/to zone, or the chain's name.
        case drop
    }

    public var kind: Kind
    public var service: String?
    public var initiatorRoles: [String]?
    public var listenerRoles: [String]?
    public var fromZone: String?
    public var toZone: String?
    public var citations: [Citation]?
    /// Where the site asks for the flow (its conduit, or the listening host), for messages; not in JSON.
    public var location: SourceLocation?
    /// Where the service and its ports are defined (a profile), for messages; not in JSON.
    public var serviceLocation: SourceLocation?

    private enum CodingKeys: String, CodingKey {
        case kind, service, initiatorRoles, listenerRoles, fromZone, toZone, citations
    }

    /// Two origins are the same flow wherever their files are (the locations are for messages only).
    public static func == (lhs: RuleOrigin, rhs: RuleOrigin) -> Bool {
        (lhs.kind, lhs.service, lhs.initiatorRoles, lhs.listenerRoles, lhs.fromZone, lhs.toZone)
            == (rhs.kind, rhs.service, rhs.initiatorRoles, rhs.listenerRoles, rhs.fromZone, rhs.toZone)
            && lhs.citations == rhs.citations
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(service)
        hasher.combine(initiatorRoles)
        hasher.combine(fromZone)
        hasher.combine(toZone)
    }
}

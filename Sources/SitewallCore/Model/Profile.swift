/// A document profiles cite (profile-set.yaml next to the profiles): named as its publisher names it.
public struct SourceDocument: Hashable, Sendable, Codable {
    /// The short id citations and tools use ("aveva-server-processes").
    public var id: String
    public var vendor: String
    public var title: String
    public var section: String?
    public var date: String?

    public init(id: String, vendor: String, title: String, section: String? = nil, date: String? = nil) {
        self.id = id
        self.vendor = vendor
        self.title = title
        self.section = section
        self.date = date
    }

    /// What a reader looks for: vendor, title, section and date.
    public var name: String { ([vendor, title] + [section, date].compactMap { $0 }).joined(separator: ", ") }

    /// sitewall's own protocol notes (docs/): background, shown after the vendors' documents.
    public static let protocolNotes = "protocol-notes"
}

/// A statement in a source document that a profile fact rests on.
public struct Citation: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The id of the document (profile-set.yaml).
    public var document: String
    /// The row or sentence, quoted closely enough to find it.
    public var reference: String
    /// The document's full name (vendor, title, section, date), for readers of the policy.
    public var source: String?

    public init(document: String, reference: String, source: String? = nil) {
        self.document = document
        self.reference = reference
        self.source = source
    }

    public var description: String { "\(document): \(reference)" }

    // The id and reference are the citation; the name only spells the id out.
    public static func == (lhs: Citation, rhs: Citation) -> Bool {
        lhs.document == rhs.document && lhs.reference == rhs.reference
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(document)
        hasher.combine(reference)
    }

    /// The citation to show first: a vendor's document over sitewall's background notes.
    public static func preferred(_ citations: [Citation]) -> Citation? {
        citations.first { $0.document != SourceDocument.protocolNotes } ?? citations.first
    }

    /// A short form for rule comments: the document's id and the row.
    public var short: String { "\(document) \(reference)" }
}

/// Who opens a connection for a service.
public enum Initiation: String, Sendable, Codable {
    /// Hosts that use the service connect to hosts that offer it.
    case client
    /// Either side may send first (BACnet, redundancy peers): rules both ways between every offerer.
    case peer
    /// Users and offerers exchange in both directions, but only with each other (EtherNet/IP class 1
    /// I/O: scanner to adapter and adapter to scanner, never adapter to adapter).
    case mutual
}

/// Whether a service is reachable over the network or only on the host itself.
public enum Scope: String, Sendable, Codable {
    case network
    /// Loopback only: the compiler emits no network rule and refuses to open the port.
    case loopback
}

/// A conntrack helper that admits a protocol's secondary flows as related.
public enum ConntrackHelper: String, Sendable, Codable, CaseIterable {
    case tftp, ftp

    public var transport: Transport { self == .tftp ? .udp : .tcp }
}

/// Something a role listens on: the unit that a flow and a rule are made from.
public struct Service: Sendable, Hashable {
    public var id: String
    public var summary: String
    public var transports: [Transport]
    /// nil when the vendor gives no default: the site must supply the port.
    public var ports: PortSet?
    public var configurable: Bool
    /// A fixed source port the initiator sends from (NTP 123, BACnet 47808, DHCP 68).
    public var sourcePorts: PortSet?
    public var initiation: Initiation
    public var scope: Scope
    /// Sent to broadcast addresses: replies do not match conntrack, so they get rules of their own.
    public var broadcast: Bool
    /// The initiator may have no address yet (DHCP discover from 0.0.0.0).
    public var unaddressedInitiator: Bool
    /// The multicast scope the service may also be sent to (EtherNet/IP target-to-originator I/O):
    /// senders may send to it, receivers' input rules do not pin their own addresses, and receivers
    /// may send IGMP membership reports. IPv4 only; multicast stays in the zone (TTL 1).
    public var multicast: IPNetwork?
    /// The initiator speaks from, and is answered at, any of its addresses (a DHCP relay uses its
    /// address in the clients' zone, giaddr, toward the server): answers get reply rules of their own.
    public var answersEveryAddress = false
    /// Another service of the profile that the same program serves on the same port (a DHCP server's
    /// relayed requests): not a clash.
    public var sharesPortWith: String?
    /// The one address family the protocol exists in (DHCPv4 is IPv4 only); nil: both.
    public var family: IPFamily?
    public var helper: ConntrackHelper?
    /// The protocol whose operations a site may narrow a use of this service to (Modbus function codes).
    public var operations: OperationProtocol?
    /// A rate limit on the rule that opens the service (ICMP echo).
    public var limit: RateLimit?
    /// Ports the vendor lists that the helper admits as related (FTP 20): no rule of their own.
    public var relatedPorts: PortSet?
    /// A port the document shows without making it a default (suggested in the error when missing).
    public var examplePorts: PortSet?
    public var citations: [Citation]
    public var note: String?
    public var location: SourceLocation?

    public var profileName: String { String(id.split(separator: "/").first ?? "") }

    /// ICMP echo: a service without ports (its flows have no port to match or override).
    public var isPortless: Bool { transports == [.icmp] }
}

/// One service a role offers or uses, with the citation for that role's use of it.
public struct RoleEndpoint: Sendable, Hashable {
    public var service: String
    /// Overrides the service's source port for this role (NTP from 123 on a MegaPower CPU).
    public var sourcePorts: PortSet?
    public var citations: [Citation]
    public var note: String?
    /// A use the product makes only when the site enables it (BootP on a controller): no warning when
    /// no host of the site offers it.
    public var optional = false
    /// Only to hosts of the user's own clusters, when the site names them (a Plant SCADA client).
    public var withinCluster = false
    public var location: SourceLocation?
}

/// A part a product plays on a host: what it listens on and what it connects to.
public struct Role: Sendable, Hashable {
    public var id: String
    public var summary: String
    public var offers: [RoleEndpoint]
    public var uses: [RoleEndpoint]
    public var location: SourceLocation?

    public var profileName: String { String(id.split(separator: "/").first ?? "") }
}

/// A vendor rule that the compiler enforces.
public struct VendorConstraint: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Each port here belongs to one service of this profile; no other service of it may take one.
        case reservedPorts
        /// Never opened to the network on a host that runs any role of this profile.
        case neverOpen
        /// The listed service's port must lie within these ports.
        case allowedPorts(service: String)
        /// The hosts this profile's roles exchange the service with must use these ports (Genetec:
        /// "BACnet device | UDP 47808 (default) | No").
        case peerPorts(service: String)
    }

    public var kind: Kind
    public var ports: PortSet
    public var transports: [Transport]
    /// The vendor's own words, quoted in the error.
    public var message: String
    public var citations: [Citation]
    public var location: SourceLocation?
    /// The roles of the profile the constraint holds on (a never-open range reserved on the vendor's
    /// controllers); nil: every role of the profile.
    public var roles: [String]? = nil
}

/// One vendor product (or generic protocol): its services, roles and constraints.
public struct Profile: Sendable {
    public var name: String
    public var vendor: String
    public var product: String
    public var summary: String
    public var documents: [String]
    public var services: [Service]
    public var roles: [Role]
    public var constraints: [VendorConstraint]
    public var file: String
    /// Files of profiles of the same name later on the profile path, which this one replaces.
    public var replaces: [String] = []

    /// Every citation the profile makes: its services', its roles' endpoints' and its constraints'.
    public var citations: [Citation] {
        services.flatMap(\.citations) + roles.flatMap { ($0.offers + $0.uses).flatMap(\.citations) }
            + constraints.flatMap(\.citations)
    }
}

/// Every loaded profile, indexed by service and role id.
public struct ProfileCatalog: Sendable {
    public let profiles: [Profile]
    public let services: [String: Service]
    public let roles: [String: Role]
    /// The documents the profiles cite, by id.
    public let documents: [String: SourceDocument]

    public init(profiles: [Profile], documents: [String: SourceDocument] = [:]) {
        self.documents = documents
        self.profiles = profiles.sorted { $0.name < $1.name }
        var services: [String: Service] = [:]
        var roles: [String: Role] = [:]
        for profile in profiles {
            for service in profile.services { services[service.id] = service }
            for role in profile.roles { roles[role.id] = role }
        }
        self.services = services
        self.roles = roles
    }

    public func profile(named name: String) -> Profile? { profiles.first { $0.name == name } }

    /// Services a conduit entry names: one service id, or every service of a profile.
    public func servicesNamed(_ name: String) -> [Service]? {
        if let service = services[name] { return [service] }
        if let profile = profile(named: name) { return profile.services }
        return nil
    }
}

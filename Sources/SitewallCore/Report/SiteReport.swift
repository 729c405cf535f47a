/// `sitewall report`: what an auditor reads about a site, gathered once from the compiled site and
/// rendered as HTML (with the zone diagram), Markdown or CSV. The zones and conduits, the zone-by-zone
/// flow matrix (and host by host on demand), each host's exposure, every allowed flow with its vendor
/// sources, the findings of `check`, the acknowledged blocks, and, when asked, verify's results and the
/// drift of running rules.
public struct SiteReport: Sendable, Codable {
    public struct ZoneEntry: Sendable, Codable {
        public var name: String
        public var networks: [String]
        public var hosts: [String]
        /// The gateways with an interface in the zone.
        public var gateways: [String]
    }

    public struct ConduitEntry: Sendable, Codable {
        public var from: String
        public var to: String
        /// The services as the site lists them.
        public var services: [String]
        /// The listed services no allowed flow uses (check warns about each).
        public var unused: [String]
        /// The hosts each side is narrowed to; nil: the whole zone.
        public var fromHosts: [String]?
        public var toHosts: [String]?
        /// The gateway that forwards it; nil when no gateway of the site joins the two zones.
        public var gateway: String?
        public var site: String?
    }

    /// The services allowed from one zone (or host) to another.
    public struct MatrixCell: Sendable, Codable {
        public var from: String
        public var to: String
        public var services: [String]
    }

    public struct Listening: Sendable, Codable {
        public var service: String
        /// "tcp/502", "udp/47808", "icmp echo".
        public var ports: [String]
        /// The hosts allowed to open connections to it, sorted.
        public var from: [String]
    }

    public struct Exposure: Sendable, Codable {
        public var host: String
        public var zones: [String]
        public var addresses: [String]
        public var roles: [String]
        public var gateway: Bool
        /// What it listens on that some host of the site may reach, and who.
        public var listens: [Listening]
        /// Services its roles offer that no allowed flow reaches (closed by the rules).
        public var unreached: [String]
    }

    public struct FlowEntry: Sendable, Codable {
        public var fromZone: String
        public var toZone: String
        public var initiators: [String]
        public var listeners: [String]
        public var service: String
        /// "tcp/502", "udp/47808", "icmp echo".
        public var ports: [String]
        public var sourcePorts: String?
        public var operations: String?
        public var initiatorRoles: [String]
        public var listenerRoles: [String]
        /// The conduit (or, inside a zone, the listening host) that allows it.
        public var site: String?
        public var citations: [Citation]
    }

    public struct DocumentEntry: Sendable, Codable {
        public var id: String
        public var source: String
        /// How many flows of the report cite it.
        public var flows: Int
    }

    public struct Block: Sendable, Codable {
        public var from: String
        public var to: String
        public var services: [String]
        public var why: String?
        public var site: String?
    }

    public struct Verification: Sendable, Codable {
        public var passed: Int
        public var failed: Int
        /// One line per probe that did not match.
        public var failures: [String]
        /// Allowed flows no probe could prove, with why.
        public var unprobed: [String]
    }

    public struct Drift: Sendable, Codable {
        public var target: String
        /// "kernel" or the saved ruleset's file.
        public var running: String
        public var differences: Int
        /// diff's own lines.
        public var text: String
        /// Set when the running rules could not be read: then nothing is claimed about drift.
        public var error: String?
    }

    public var site: String
    public var file: String
    /// sitewall's version line.
    public var generator: String
    public var hosts: Int
    public var zones: [ZoneEntry]
    public var conduits: [ConduitEntry]
    public var matrix: [MatrixCell]
    /// Host by host, when asked for.
    public var hostMatrix: [MatrixCell]?
    public var exposure: [Exposure]
    public var flows: [FlowEntry]
    public var documents: [DocumentEntry]
    public var findings: [Diagnostic]
    public var blocks: [Block]
    public var verification: Verification?
    public var drift: [Drift]?
}

extension SiteReport {
    public enum Failure: Error, CustomStringConvertible {
        case hostMatrixTooLarge(Int)

        public var description: String {
            switch self {
            case .hostMatrixTooLarge(let count):
                "the site has \(count) hosts: a host-by-host matrix is drawn up to \(SiteReport.hostMatrixLimit); "
                    + "use 'sitewall explain --to HOST' for one host, or the CSV flow list"
            }
        }
    }

    public static let hostMatrixLimit = 200

    /// Gathers the report from a loaded site; `verify` and `drift` come from their own commands' work.
    public init(
        _ workspace: Workspace, generator: String, hostMatrix: Bool = false, verification: VerifyReport? = nil,
        drift: [Drift]? = nil
    ) throws {
        let site = workspace.resolved
        let allowed = workspace.flows.filter(\.allowed)
        if hostMatrix && site.hosts.count > Self.hostMatrixLimit {
            throw Failure.hostMatrixTooLarge(site.hosts.count)
        }
        self.site = site.site.name
        file = site.site.file
        self.generator = generator
        hosts = site.hosts.count
        zones = site.zones.map { zone in
            ZoneEntry(
                name: zone.name, networks: zone.networks.map(\.description),
                hosts: site.hosts.filter { $0.addresses.contains { $0.zone == zone.name } }.map(\.name).sorted(),
                gateways: site.gateways.filter { $0.interfaces?[zone.name] != nil }.map(\.name).sorted())
        }
        conduits = Self.conduits(site, allowed)
        matrix = Self.matrix(allowed, key: { [$0.zone] })
        self.hostMatrix = hostMatrix ? Self.matrix(allowed, key: { [$0.host] }) : nil
        exposure = Self.exposure(site, allowed)
        flows = allowed.map(Self.entry).sorted {
            ($0.fromZone, $0.toZone, $0.service, $0.site ?? "") < ($1.fromZone, $1.toZone, $1.service, $1.site ?? "")
        }
        documents = Self.documents(flows, catalog: site.catalog)
        findings = workspace.findings()
        blocks = site.site.blocked.map { block in
            Block(
                from: block.from.value, to: block.to.value, services: block.services.map(\.value), why: block.why,
                site: block.location?.description)
        }
        self.verification = verification.map { report in
            Verification(
                passed: report.passed, failed: report.failed,
                failures: report.failures.map { "\($0.probe.label): expected \($0.probe.expected.rawValue)" },
                unprobed: report.unprobed.map { "\($0.flow): \($0.reason)" })
        }
        self.drift = drift
    }

    static func portsText(_ transport: Transport, _ ports: PortSet) -> String {
        transport == .icmp ? "icmp echo" : "\(transport.rawValue)/\(ports)"
    }

    static func entry(_ group: FlowGroup) -> FlowEntry {
        FlowEntry(
            fromZone: group.fromZone, toZone: group.toZone,
            initiators: FlowDeriver.uniqued(group.initiators.map(\.host)),
            listeners: FlowDeriver.uniqued(group.listeners.map(\.host)), service: group.service.id,
            ports: group.service.transports.map { portsText($0, group.dports) },
            sourcePorts: group.sports?.description, operations: group.operations?.description,
            initiatorRoles: group.initiatorRoles, listenerRoles: group.listenerRoles,
            site: group.location?.description, citations: group.citations)
    }

    static func conduits(_ site: ResolvedSite, _ allowed: [FlowGroup]) -> [ConduitEntry] {
        let carried = SiteChecks.carried(allowed)
        return site.site.conduits.map { conduit in
            let (from, to) = (conduit.from.value, conduit.to.value)
            let unused = SiteChecks.unusedServices(conduit, site: site, carried: carried).map(\.value)
            let resolved = site.conduits.first { $0.location == conduit.location }
            return ConduitEntry(
                from: from, to: to, services: conduit.services.map(\.value), unused: unused,
                fromHosts: resolved?.fromHosts.map { $0.sorted() }, toHosts: resolved?.toHosts.map { $0.sorted() },
                gateway: site.gateway(joining: from, to)?.name, site: conduit.location?.description)
        }
    }

    /// Services allowed between the keys (zones or hosts) of initiators and listeners.
    static func matrix(_ allowed: [FlowGroup], key: (HostAddress) -> [String]) -> [MatrixCell] {
        var cells: [[String]: Set<String>] = [:]
        for group in allowed {
            let from = Set(group.initiators.flatMap(key))
            let to = Set(group.listeners.flatMap(key))
            for a in from {
                for b in to where a != b || group.fromZone == group.toZone {
                    cells[[a, b], default: []].insert(group.service.id)
                }
            }
        }
        return cells.map { MatrixCell(from: $0.key[0], to: $0.key[1], services: $0.value.sorted()) }
            .sorted { ($0.from, $0.to) < ($1.from, $1.to) }
    }

    static func exposure(_ site: ResolvedSite, _ allowed: [FlowGroup]) -> [Exposure] {
        // host -> service -> (ports, initiators)
        var reached: [String: [String: (ports: Set<String>, from: Set<String>)]] = [:]
        for group in allowed {
            let initiators = Set(group.initiators.map(\.host))
            let ports = group.service.transports.map { portsText($0, group.dports) }
            for listener in Set(group.listeners.map(\.host)) {
                var entry = reached[listener, default: [:]][group.service.id] ?? ([], [])
                entry.ports.formUnion(ports)
                entry.from.formUnion(initiators.subtracting([listener]))
                reached[listener, default: [:]][group.service.id] = entry
            }
        }
        return site.hosts.map { host in
            let mine = reached[host.name] ?? [:]
            let listens = mine.keys.sorted().map { id in
                Listening(service: id, ports: mine[id]!.ports.sorted(), from: mine[id]!.from.sorted())
            }
            let unreached = host.offers.values.filter { $0.service.scope == .network && mine[$0.service.id] == nil }
                .map(\.service.id).sorted()
            return Exposure(
                host: host.name, zones: FlowDeriver.uniqued(host.addresses.map(\.zone)),
                addresses: host.addresses.map(\.address.description), roles: host.roles.map(\.id),
                gateway: host.isGateway, listens: listens, unreached: unreached)
        }.sorted { $0.host < $1.host }
    }

    static func documents(_ flows: [FlowEntry], catalog: ProfileCatalog) -> [DocumentEntry] {
        var counts: [String: Int] = [:]
        var sources: [String: String] = [:]
        for flow in flows {
            for document in Set(flow.citations.map(\.document)) { counts[document, default: 0] += 1 }
            for citation in flow.citations where sources[citation.document] == nil {
                sources[citation.document] = citation.source
            }
        }
        return counts.keys.sorted().map { id in
            DocumentEntry(
                id: id, source: catalog.documents[id]?.name ?? sources[id] ?? id, flows: counts[id] ?? 0)
        }
    }
}

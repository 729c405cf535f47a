import Foundation

/// Reads a site description (YAML) into a `Site`, reporting every syntax and shape problem with its position.
public enum SiteLoader {
    /// Reads a site file; one larger than `maximumBytes` (256 MiB, or $SITEWALL_MAX_INPUT_MIB) is refused unread.
    public static func load(path: String, log: inout DiagnosticLog, maximumBytes: Int = YAMLNode.maximumBytes) -> Site?
    {
        guard let root = YAMLNode.load(file: path, displayName: path, log: &log, maximumBytes: maximumBytes) else {
            return nil
        }
        return parse(root, log: &log)
    }

    public static func parse(_ text: String, file: String, log: inout DiagnosticLog) -> Site? {
        guard let root = YAMLNode.parse(text, displayName: file, log: &log) else { return nil }
        return parse(root, log: &log)
    }

    /// Names become nft identifiers and comments: only characters that can never break out of
    /// quoting: letters, digits, '.', '_' and '-', starting with a letter or digit.
    static func isSafeName(_ text: String, maxLength: Int) -> Bool {
        // Byte by byte without a copy: every host's name is checked.
        let bytes = text.utf8
        func plain(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        guard let first = bytes.first, plain(first), bytes.count <= maxLength else { return false }
        return bytes.allSatisfy { plain($0) || $0 == 46 || $0 == 95 || $0 == 45 }
    }

    static func checkName(_ name: String, _ what: String, at location: SourceLocation?, log: inout DiagnosticLog)
        -> Bool
    {
        if isSafeName(name, maxLength: 63) { return true }
        log.error(
            "\(what) '\(name)' contains characters sitewall cannot pass safely into a ruleset", at: location,
            fix: "use letters, digits, '.', '_' and '-' only (at most 63), starting with a letter or digit")
        return false
    }

    static func parse(_ root: YAMLNode, log: inout DiagnosticLog) -> Site? {
        guard
            let fields = root.fields(
                "the site", allowed: ["site", "zones", "groups", "hosts", "conduits", "blocked", "observe"],
                log: &log)
        else {
            return nil
        }
        var site = Site(name: "site", file: root.file)
        if let node = fields["site"], let name = node.string("site", log: &log),
            checkName(name, "site name", at: node.location, log: &log)
        {
            site.name = name
        } else if fields["site"] == nil {
            log.error("the site needs a name: 'site: NAME'", at: root.location)
        }
        for (name, keyNode, value) in fields["zones"]?.entries("zones", log: &log) ?? [] {
            guard checkName(name, "zone name", at: keyNode.location, log: &log) else { continue }
            if let zone = parseZone(name, value, log: &log) { site.zones.append(zone) }
        }
        if fields["zones"] == nil {
            log.error("the site has no 'zones:'", at: root.location, fix: "declare at least one zone with its networks")
        }
        for (name, keyNode, value) in fields["groups"]?.entries("groups", log: &log) ?? [] {
            guard checkName(name, "group name", at: keyNode.location, log: &log) else { continue }
            let members = hostNames(value, "members of group '\(name)'", log: &log)
            site.groups.append(HostGroup(name: name, members: members, location: keyNode.location))
        }
        let hosts = fields["hosts"]?.entries("hosts", log: &log) ?? []
        site.reserveCapacity(hosts: hosts.count)
        for (name, keyNode, value) in hosts {
            guard checkName(name, "host name", at: keyNode.location, log: &log) else { continue }
            if let host = parseHost(name, at: keyNode.location, value, log: &log) { site.add(host) }
        }
        if fields["hosts"] == nil { log.error("the site has no 'hosts:'", at: root.location) }
        for item in fields["conduits"]?.list("conduits", log: &log) ?? [] {
            if let conduit = parseConduit(item, log: &log) { site.conduits.append(conduit) }
        }
        for item in fields["blocked"]?.list("blocked", log: &log) ?? [] {
            if let block = parseConduit(item, block: true, log: &log) { site.blocked.append(block) }
        }
        if let node = fields["observe"] { site.observe = parseObservation(node, log: &log) }
        return site
    }

    /// `observe: { counters: true, log_drops: true }` or `log_drops: { rate: 10/minute, prefix: P, group: N }`.
    static func parseObservation(_ node: YAMLNode, log: inout DiagnosticLog) -> SiteObservation {
        var observation = SiteObservation()
        guard let fields = node.fields("observe", allowed: ["counters", "log_drops"], log: &log) else {
            return observation
        }
        if let counters = fields["counters"] { observation.counters = counters.bool("counters", log: &log) ?? false }
        guard let logging = fields["log_drops"] else { return observation }
        if logging.scalarText != nil {
            if logging.bool("log_drops", log: &log) == true { observation.logDrops = DropLogging() }
            return observation
        }
        guard let options = logging.fields("log_drops", allowed: ["rate", "prefix", "group"], log: &log) else {
            return observation
        }
        var drops = DropLogging()
        if let rate = options["rate"], let text = rate.string("rate", log: &log) {
            if let parsed = RateLimit(text) {
                drops.rate = parsed
            } else {
                log.error(
                    "log_drops rate '\(text)' is not N/second or N/minute", at: rate.location,
                    fix: "write e.g. 'rate: 10/minute' (the most packets logged; the rest are dropped unlogged)")
            }
        }
        if let prefix = options["prefix"], let text = prefix.string("prefix", log: &log) {
            if text.count <= 48, !text.isEmpty,
                text.unicodeScalars.allSatisfy({
                    $0.isASCII && $0.value >= 0x20 && !"\"\\'".unicodeScalars.contains($0)
                })
            {
                drops.prefix = text
            } else {
                log.error(
                    "log_drops prefix '\(text)' must be 1 to 48 printable ASCII characters without quotes or backslashes",
                    at: prefix.location, fix: "write e.g. 'prefix: sitewall'")
            }
        }
        if let group = options["group"], let text = group.string("group", log: &log) {
            if let number = UInt16(text) {
                drops.group = number
            } else {
                log.error(
                    "log_drops group '\(text)' is not an NFLOG group number (0 to 65535)", at: group.location,
                    fix: "write e.g. 'group: 5', the group the collector (ulogd2, tcpdump -i nflog:5) listens on")
            }
        }
        observation.logDrops = drops
        return observation
    }

    static func parseZone(_ name: String, _ node: YAMLNode, log: inout DiagnosticLog) -> Zone? {
        guard let fields = node.fields("zone '\(name)'", allowed: ["networks", "description"], log: &log) else {
            return nil
        }
        var networks: [IPNetwork] = []
        for (text, item) in fields["networks"]?.strings("networks", log: &log) ?? [] {
            if let network = IPNetwork(text) {
                networks.append(network)
            } else {
                log.error(
                    "'\(text)' is not a network prefix", at: item.location,
                    fix: "write it as ADDRESS/LENGTH with the host bits zero, e.g. 10.10.2.0/24 or 2001:db8:2::/64")
            }
        }
        if fields["networks"] == nil {
            log.error("zone '\(name)' has no networks", at: node.location, fix: "add 'networks: [10.0.0.0/24]'")
        }
        return Zone(name: name, networks: networks, location: node.location)
    }

    static let hostKeys: [StaticString] = [
        "address", "addresses", "zone", "roles", "ports", "uses", "clusters", "gateway", "management", "description",
    ]

    static let addressKeys: [StaticString] = ["address", "addresses"]

    static func parseHost(_ name: String, at keyLocation: SourceLocation?, _ node: YAMLNode, log: inout DiagnosticLog)
        -> Host?
    {
        guard let fields = node.fields("host '\(name)'", allowed: hostKeys, log: &log) else { return nil }
        var host = Host(name: name, addresses: [], zone: nil, roles: [], ports: [], gateway: nil, location: keyLocation)
        if fields["address"] != nil && fields["addresses"] != nil {
            log.error(
                "host '\(name)' has both 'address' and 'addresses'", at: node.location,
                fix: "keep one: 'addresses: [A, B]'")
        }
        // Straight from the tree into arrays of the right size: a site of 50,000 hosts comes through here.
        for key in addressKeys {
            guard let list = fields[key] else { continue }
            host.addresses.reserveCapacity(list.itemCount)
            // Values that are no address are reported after the list's shape, as they always were.
            var unreadable: [(String, YAMLNode)] = []
            _ = list.eachString(key.description, log: &log) { text, item, _ in
                if let address = IPAddress(text) {
                    host.addresses.append(Located(address, at: item.location))
                } else {
                    unreadable.append((text, item))
                }
            }
            for (text, item) in unreadable {
                log.error(
                    "'\(text)' is not an IPv4 or IPv6 address", at: item.location,
                    fix: "write one address without a prefix length, e.g. 10.10.2.10 or 2001:db8::10")
            }
        }
        if let zoneNode = fields["zone"], let zone = zoneNode.string("zone", log: &log) {
            host.zone = Located(zone, at: zoneNode.location)
        }
        if let roles = fields["roles"] {
            host.roles.reserveCapacity(roles.itemCount)
            _ = roles.eachString("roles", log: &log) { text, item, _ in
                host.roles.append(Located(text, at: item.location))
            }
        }
        for (service, keyNode, value) in fields["ports"]?.entries("ports of host '\(name)'", log: &log) ?? [] {
            if let ports = value.ports("port of \(service)", log: &log) {
                host.ports.append(Located(PortOverride(service: service, ports: ports), at: keyNode.location))
            }
        }
        for (service, keyNode, value) in fields["uses"]?.entries("uses of host '\(name)'", log: &log) ?? [] {
            if let use = parseUse(service, value, log: &log) { host.uses.append(Located(use, at: keyNode.location)) }
        }
        for (cluster, item) in fields["clusters"]?.strings("clusters", log: &log) ?? [] {
            if checkName(cluster, "cluster name", at: item.location, log: &log) {
                host.clusters.append(Located(cluster, at: item.location))
            }
        }
        for (manager, item) in fields["management"]?.strings("management", log: &log) ?? [] {
            host.management.append(Located(manager, at: item.location))
        }
        if let gatewayNode = fields["gateway"] {
            host.gateway = parseGateway(name, gatewayNode, log: &log)
        }
        if host.addresses.isEmpty && host.gateway == nil && fields["address"] == nil && fields["addresses"] == nil {
            log.error("host '\(name)' has no address", at: keyLocation, fix: "add 'address: 10.0.0.10'")
        }
        if host.roles.isEmpty && host.gateway == nil {
            log.warning(
                "host '\(name)' has no roles, so it gets no allowed flows", at: keyLocation,
                fix: "add 'roles: [...]' (sitewall profiles lists them)")
        }
        return host
    }

    /// `SERVICE: [PEERS]` or `SERVICE: { peers: [...], operations: ... }`.
    static func parseUse(_ service: String, _ node: YAMLNode, log: inout DiagnosticLog) -> UseSpec? {
        var use = UseSpec(service: service)
        guard node.isMapping else {
            use.peers = hostNames(node, "peers of \(service)", log: &log)
            return use
        }
        guard let fields = node.fields("the use of \(service)", allowed: ["peers", "operations"], log: &log) else {
            return nil
        }
        use.peers = fields["peers"].map { hostNames($0, "peers of \(service)", log: &log) }
        use.operations = fields["operations"].flatMap { parseOperations($0, log: &log) }
        if use.peers == nil && use.operations == nil {
            log.error(
                "the use of \(service) narrows nothing", at: node.location,
                fix: "give 'peers: [HOST, ...]', 'operations: read-only' or both")
            return nil
        }
        return use
    }

    static func hostNames(_ node: YAMLNode, _ what: String, log: inout DiagnosticLog) -> [Located<String>] {
        (node.strings(what, log: &log) ?? []).map { Located($0.0, at: $0.1.location) }
    }

    /// `read-only`, or a list of Modbus function codes (1-127).
    static func parseOperations(_ node: YAMLNode, log: inout DiagnosticLog) -> Located<OperationSpec>? {
        // A single number is a one-code list, like any one-or-a-list value.
        if let text = node.scalarText, UInt8(text) == nil {
            guard text == "read-only" else {
                log.error(
                    "unknown operations '\(text)'", at: node.location,
                    fix: "write 'operations: read-only' or a list of function codes, e.g. [3, 4, 16]")
                return nil
            }
            return Located(.readOnly, at: node.location)
        }
        var codes: [UInt8] = []
        for (text, item) in node.strings("operations", log: &log) ?? [] {
            guard let code = UInt8(text), (1...127).contains(code) else {
                log.error(
                    "'\(text)' is not a function code", at: item.location,
                    fix: "function codes are numbers from 1 to 127 (3 reads holding registers, 16 writes them)")
                return nil
            }
            codes.append(code)
        }
        return codes.isEmpty ? nil : Located(.functionCodes(codes), at: node.location)
    }

    static func parseGateway(_ name: String, _ node: YAMLNode, log: inout DiagnosticLog) -> GatewaySpec? {
        guard let fields = node.fields("gateway of '\(name)'", allowed: ["interfaces"], log: &log) else { return nil }
        guard let interfacesNode = fields["interfaces"] else {
            log.error("gateway '\(name)' needs 'interfaces: { ZONE: IFNAME, ... }'", at: node.location)
            return nil
        }
        var spec = GatewaySpec(interfaces: [])
        for (zone, keyNode, value) in interfacesNode.entries("interfaces of '\(name)'", log: &log) ?? [] {
            guard let interface = value.string("interface name", log: &log) else { continue }
            guard isSafeName(interface, maxLength: 15) else {
                log.error(
                    "'\(interface)' is not a valid interface name", at: value.location,
                    fix: "Linux interface names are 1-15 letters, digits, '.', '_' or '-'")
                continue
            }
            spec.interfaces.append(Located(ZoneInterface(zone: zone, interface: interface), at: keyNode.location))
        }
        return spec
    }

    /// A conduit, or (`block`) an acknowledged block: the same shape plus 'why:'.
    static func parseConduit(_ node: YAMLNode, block: Bool = false, log: inout DiagnosticLog) -> Conduit? {
        let what = block ? "a blocked entry" : "a conduit"
        let allowed: [StaticString] =
            ["from", "to", "services", "description"]
            + (block ? ["why"] : ["from-hosts", "to-hosts", "operations"])
        guard let fields = node.fields(what, allowed: allowed, log: &log) else { return nil }
        guard let fromNode = fields["from"], let from = fromNode.string("from", log: &log),
            let toNode = fields["to"], let to = toNode.string("to", log: &log)
        else {
            log.error("\(what) needs 'from: ZONE' and 'to: ZONE'", at: node.location)
            return nil
        }
        guard let servicesNode = fields["services"] else {
            log.error(
                "\(what) needs 'services: [...]'", at: node.location,
                fix: "list the service ids or profile names it " + (block ? "keeps blocked" : "carries"))
            return nil
        }
        let services = (servicesNode.strings("services", log: &log) ?? []).map { Located($0.0, at: $0.1.location) }
        var why: String?
        if block {
            why = fields["why"]?.string("why", log: &log)
            if why?.trimmingCharacters(in: .whitespaces).isEmpty ?? true {
                log.error(
                    "a blocked entry needs 'why: ...'", at: node.location,
                    fix: "say why these flows stay blocked, e.g. why: \"video keeps its own time\"")
                return nil
            }
        }
        var conduit = Conduit(
            from: Located(from, at: fromNode.location), to: Located(to, at: toNode.location),
            services: services, why: why, location: node.location)
        conduit.fromHosts = fields["from-hosts"].map { hostNames($0, "from-hosts", log: &log) }
        conduit.toHosts = fields["to-hosts"].map { hostNames($0, "to-hosts", log: &log) }
        conduit.operations = fields["operations"].flatMap { parseOperations($0, log: &log) }
        return conduit
    }
}

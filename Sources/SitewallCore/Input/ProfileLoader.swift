import Foundation

/// One folder of a profile search path.
public struct ProfileFolder: Hashable, Sendable {
    public var path: String
    /// Named by the user (--profiles, SITEWALL_PROFILES): missing is an error, not a skip.
    public var required: Bool

    public init(_ path: String, required: Bool = true) {
        self.path = path
        self.required = required
    }
}

/// Reads every `*.yaml` profile under the folders of a search path into a catalog, checking
/// references between them. A profile in an earlier folder replaces one of the same name in a later
/// folder (a site's own version of a shipped profile); the documents they cite come from each
/// folder's profile-set.yaml.
public enum ProfileLoader {
    /// The file in a profile folder that gives the set's version and the documents its profiles cite.
    public static let setFile = "profile-set.yaml"

    public static func load(directory: String) throws -> ProfileCatalog {
        try load(path: [ProfileFolder(directory)])
    }

    public static func load(path: [ProfileFolder]) throws -> ProfileCatalog {
        var log = DiagnosticLog()
        let catalog = load(path: path, log: &log)
        try log.throwIfErrors()
        return catalog
    }

    public static func load(directory: String, log: inout DiagnosticLog) -> ProfileCatalog {
        load(path: [ProfileFolder(directory)], log: &log)
    }

    public static func load(path: [ProfileFolder], log: inout DiagnosticLog) -> ProfileCatalog {
        var folders: [ProfileFolder] = []
        for folder in path where !folders.contains(where: { same($0.path, folder.path) }) {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue {
                folders.append(folder)
            } else if folder.required {
                log.error(
                    "profile folder '\(folder.path)' does not exist", at: nil,
                    fix: "check --profiles and SITEWALL_PROFILES (a colon-separated list of folders)")
            }
        }
        var documents: [String: SourceDocument] = [:]
        for folder in folders {
            for document in loadDocuments(folder.path, log: &log) where documents[document.id] == nil {
                documents[document.id] = document
            }
        }
        var profiles: [Profile] = []
        $documents.withValue(documents) {
            for folder in folders {
                var here: [Profile] = []
                for file in yamlFiles(under: folder.path) {
                    guard let root = YAMLNode.load(file: file, displayName: file, log: &log),
                        let profile = parseProfile(root, log: &log)
                    else { continue }
                    if let twin = here.first(where: { $0.name == profile.name }) {
                        log.error(
                            "profile '\(profile.name)' is defined twice", at: root.location,
                            fix: "rename one; the other is in \(twin.file)")
                    } else {
                        here.append(profile)
                    }
                }
                // An earlier folder's profile of the same name stands in for this one.
                for var profile in here {
                    if let index = profiles.firstIndex(where: { $0.name == profile.name }) {
                        profiles[index].replaces.append(profile.file)
                    } else {
                        profile.replaces = []
                        profiles.append(profile)
                    }
                }
            }
        }
        if profiles.isEmpty && !log.hasErrors {
            log.error(
                "no profiles found (looked in \(path.map { "'\($0.path)'" }.joined(separator: ", ")))", at: nil,
                fix: "pass --profiles DIR pointing at a folder of profiles, or set SITEWALL_PROFILES")
        }
        let catalog = ProfileCatalog(profiles: profiles, documents: documents)
        checkReferences(catalog, log: &log)
        return catalog
    }

    static func same(_ a: String, _ b: String) -> Bool {
        URL(fileURLWithPath: a).standardizedFileURL.resolvingSymlinksInPath().path
            == URL(fileURLWithPath: b).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// The version a folder's profile-set.yaml gives (read without a YAML parser: --version needs it fast).
    public static func setVersion(in directory: String) -> String? {
        guard let text = try? String(contentsOfFile: directory + "/" + setFile, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("version:") {
            return line.dropFirst("version:".count).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// The documents citations may name while profiles are parsed; nil (a lone profile's text): any.
    @TaskLocal static var documents: [String: SourceDocument]?

    static func loadDocuments(_ directory: String, log: inout DiagnosticLog) -> [SourceDocument] {
        let file = directory + "/" + setFile
        guard FileManager.default.fileExists(atPath: file),
            let root = YAMLNode.load(file: file, displayName: file, log: &log),
            let fields = root.fields("a profile set", allowed: ["version", "documents"], log: &log)
        else { return [] }
        var documents: [SourceDocument] = []
        for (id, keyNode, value) in fields["documents"]?.entries("documents", log: &log) ?? [] {
            guard isValidName(id) else {
                log.error("document id '\(id)' must be lower-case letters, digits and '-'", at: keyNode.location)
                continue
            }
            let allowed: [StaticString] = ["vendor", "title", "section", "date"]
            guard let fields = value.fields("a document", allowed: allowed, log: &log) else { continue }
            guard let vendor = fields["vendor"]?.string("vendor", log: &log),
                let title = fields["title"]?.string("title", log: &log)
            else {
                log.error(
                    "document '\(id)' needs a vendor and a title", at: keyNode.location,
                    fix: "name it as its publisher does: vendor, title, and the section and date if known")
                continue
            }
            documents.append(
                SourceDocument(
                    id: id, vendor: vendor, title: title, section: fields["section"]?.string("section", log: &log),
                    date: fields["date"]?.string("date", log: &log)))
        }
        return documents
    }

    public static func parse(_ text: String, file: String, log: inout DiagnosticLog) -> Profile? {
        guard let root = YAMLNode.parse(text, displayName: file, log: &log) else { return nil }
        return parseProfile(root, log: &log)
    }

    static func yamlFiles(under directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [String] = []
        while let item = enumerator.nextObject() as? String {
            guard item != setFile else { continue }
            if item.hasSuffix(".yaml") || item.hasSuffix(".yml") { files.append(directory + "/" + item) }
        }
        return files.sorted()
    }

    /// `[a-z0-9][a-z0-9-]{0,47}`, byte by byte (a regular expression would start ICU on every run).
    static func isValidName(_ name: String) -> Bool {
        let bytes = name.utf8
        func plain(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 122) }
        guard let first = bytes.first, plain(first), bytes.count <= 48 else { return false }
        return bytes.allSatisfy { plain($0) || $0 == 45 }
    }

    static func parseProfile(_ root: YAMLNode, log: inout DiagnosticLog) -> Profile? {
        let keys: [StaticString] = [
            "profile", "vendor", "product", "summary", "documents", "services", "roles", "constraints",
        ]
        guard let fields = root.fields("a profile", allowed: keys, log: &log) else { return nil }
        guard let nameNode = fields["profile"], let name = nameNode.string("profile", log: &log) else {
            log.error("a profile needs 'profile: NAME'", at: root.location)
            return nil
        }
        guard isValidName(name) else {
            log.error("profile name '\(name)' must be lower-case letters, digits and '-'", at: nameNode.location)
            return nil
        }
        var profile = Profile(
            name: name,
            vendor: fields["vendor"]?.string("vendor", log: &log) ?? "",
            product: fields["product"]?.string("product", log: &log) ?? name,
            summary: fields["summary"]?.string("summary", log: &log) ?? "",
            documents: fields["documents"]?.strings("documents", log: &log)?.map(\.0) ?? [],
            services: [], roles: [], constraints: [], file: root.file)

        for (key, keyNode, value) in fields["services"]?.entries("services", log: &log) ?? [] {
            guard isValidName(key) else {
                log.error("service name '\(key)' must be lower-case letters, digits and '-'", at: keyNode.location)
                continue
            }
            if let service = parseService(id: "\(name)/\(key)", value, log: &log) { profile.services.append(service) }
        }
        for (key, keyNode, value) in fields["roles"]?.entries("roles", log: &log) ?? [] {
            guard isValidName(key) else {
                log.error("role name '\(key)' must be lower-case letters, digits and '-'", at: keyNode.location)
                continue
            }
            if let role = parseRole(id: "\(name)/\(key)", profile: name, value, log: &log) {
                profile.roles.append(role)
            }
        }
        for item in fields["constraints"]?.list("constraints", log: &log) ?? [] {
            if let constraint = parseConstraint(profile: name, item, log: &log) {
                profile.constraints.append(constraint)
            }
        }
        return profile
    }

    static func parseCitations(_ node: YAMLNode?, log: inout DiagnosticLog) -> [Citation] {
        guard let node else { return [] }
        var citations: [Citation] = []
        for item in node.list("cite", log: &log) ?? [] {
            if let text = item.scalarText {
                // "document: row or sentence"
                guard let colon = text.range(of: ": ") else {
                    log.error("a citation must read 'DOCUMENT: row or sentence'", at: item.location)
                    continue
                }
                citations.append(
                    Citation(document: String(text[..<colon.lowerBound]), reference: String(text[colon.upperBound...])))
            } else if let fields = item.fields("a citation", allowed: ["doc", "ref"], log: &log),
                let doc = fields["doc"]?.string("doc", log: &log), let ref = fields["ref"]?.string("ref", log: &log)
            {
                citations.append(Citation(document: doc, reference: ref))
            } else {
                continue
            }
            guard let documents else { continue }
            let id = citations[citations.count - 1].document
            if let document = documents[id] {
                citations[citations.count - 1].source = document.name
            } else {
                log.error(
                    "the citation names document '\(id)', which no profile-set.yaml on the profile path lists",
                    at: item.location,
                    fix: "cite one of \(documents.keys.sorted().joined(separator: ", ")), or add '\(id)' to the "
                        + "profile-set.yaml next to the profile (vendor, title, section, date)")
            }
        }
        return citations
    }

    static func parseTransports(_ node: YAMLNode?, at location: SourceLocation?, log: inout DiagnosticLog)
        -> [Transport]
    {
        guard let node else {
            log.error("a service needs 'transport: tcp|udp' (or [tcp, udp])", at: location)
            return []
        }
        var result: [Transport] = []
        for (text, item) in node.strings("transport", log: &log) ?? [] {
            guard let transport = Transport(rawValue: text) else {
                log.error("unknown transport '\(text)'", at: item.location, fix: "use tcp, udp or icmp")
                continue
            }
            result.append(transport)
        }
        return result.sorted()
    }

    static func parseService(id: String, _ node: YAMLNode, log: inout DiagnosticLog) -> Service? {
        let keys: [StaticString] = [
            "summary", "transport", "port", "configurable", "source-port", "initiation", "scope", "broadcast",
            "unaddressed-initiator", "family", "helper", "related-ports", "example-port", "cite", "note", "rate-limit",
            "multicast", "shares-port-with", "answers-every-address", "operations",
        ]
        guard let fields = node.fields("service '\(id)'", allowed: keys, log: &log) else { return nil }
        var service = Service(
            id: id,
            summary: fields["summary"]?.string("summary", log: &log) ?? "",
            transports: parseTransports(fields["transport"], at: node.location, log: &log),
            ports: nil,
            configurable: fields["configurable"]?.bool("configurable", log: &log) ?? false,
            sourcePorts: fields["source-port"]?.ports("source-port", log: &log),
            initiation: .client, scope: .network, broadcast: false, unaddressedInitiator: false,
            helper: nil,
            relatedPorts: fields["related-ports"]?.ports("related-ports", log: &log),
            examplePorts: fields["example-port"]?.ports("example-port", log: &log),
            citations: parseCitations(fields["cite"], log: &log),
            note: fields["note"]?.string("note", log: &log),
            location: node.location)
        if let port = fields["port"], !port.isNull {
            service.ports = port.ports("port", log: &log)
        } else if fields["port"] == nil {
            log.error(
                "service '\(id)' needs 'port:' (write 'port: null' where the vendor gives no default)",
                at: node.location)
        }
        if service.transports.contains(.icmp) {
            // ICMP echo has no port: the rule matches the echo request type of the rule's family.
            if service.transports != [.icmp] || service.ports != nil || service.sourcePorts != nil
                || service.configurable
            {
                log.error(
                    "service '\(id)' is ICMP echo, which has no ports", at: node.location,
                    fix: "write 'transport: icmp' alone, with 'port: null' and no source-port or configurable")
            }
        } else if service.ports == nil && !service.configurable {
            log.error(
                "service '\(id)' has no default port and is not configurable, so no site could use it",
                at: node.location,
                fix: "give the port, or mark it 'configurable: true'")
        }
        if let node = fields["multicast"], let text = node.string("multicast", log: &log) {
            service.multicast = IPNetwork(text)
            if service.multicast.map({ $0.family != .ipv4 || !IPNetwork("224.0.0.0/4")!.contains($0.address) }) ?? true
            {
                log.error(
                    "'\(text)' is not an IPv4 multicast scope", at: node.location,
                    fix: "write a prefix inside 224.0.0.0/4, e.g. 239.192.0.0/14")
            }
        }
        service.answersEveryAddress = fields["answers-every-address"]?.bool("answers-every-address", log: &log) ?? false
        if let other = fields["shares-port-with"]?.string("shares-port-with", log: &log) {
            service.sharesPortWith = qualify(other, profile: service.profileName)
        }
        if let node = fields["rate-limit"], let text = node.string("rate-limit", log: &log) {
            service.limit = RateLimit(text)
            if service.limit == nil {
                log.error(
                    "'\(text)' is not a rate limit", at: node.location, fix: "write PACKETS/second or PACKETS/minute")
            }
        }
        if let text = fields["initiation"]?.string("initiation", log: &log) {
            if let value = Initiation(rawValue: text) {
                service.initiation = value
            } else {
                log.error(
                    "initiation must be 'client', 'peer' or 'mutual', not '\(text)'", at: fields["initiation"]?.location
                )
            }
        }
        if let text = fields["scope"]?.string("scope", log: &log) {
            if let value = Scope(rawValue: text) {
                service.scope = value
            } else {
                log.error("scope must be 'network' or 'loopback', not '\(text)'", at: fields["scope"]?.location)
            }
        }
        if let text = fields["helper"]?.string("helper", log: &log) {
            if let value = ConntrackHelper(rawValue: text) {
                service.helper = value
            } else {
                log.error(
                    "unknown conntrack helper '\(text)'", at: fields["helper"]?.location,
                    fix: "use one of: " + ConntrackHelper.allCases.map(\.rawValue).joined(separator: ", "))
            }
        }
        if let text = fields["operations"]?.string("operations", log: &log) {
            if let value = OperationProtocol(rawValue: text), service.transports == [value.transport] {
                service.operations = value
            } else {
                log.error(
                    "'\(id)' cannot take operation filter '\(text)'", at: fields["operations"]?.location,
                    fix: "use one of: "
                        + OperationProtocol.allCases.map { "\($0.rawValue) (\($0.transport.rawValue))" }
                        .joined(separator: ", "))
            }
        }
        if let text = fields["family"]?.string("family", log: &log) {
            if let family = IPFamily(rawValue: text) {
                service.family = family
            } else {
                log.error("unknown family '\(text)'", at: fields["family"]?.location, fix: "use ipv4 or ipv6")
            }
        }
        service.broadcast = fields["broadcast"]?.bool("broadcast", log: &log) ?? false
        service.unaddressedInitiator =
            fields["unaddressed-initiator"]?.bool("unaddressed-initiator", log: &log) ?? false
        if service.citations.isEmpty {
            log.error(
                "service '\(id)' cites no source", at: node.location,
                fix: "add 'cite: DOCUMENT: row or sentence' naming the vendor document it comes from")
        }
        if let helper = service.helper, !service.transports.contains(helper.transport) {
            log.error(
                "the \(helper.rawValue) helper works on \(helper.transport.rawValue), "
                    + "but '\(id)' is not \(helper.transport.rawValue)",
                at: node.location)
        }
        return service
    }

    static func parseEndpoints(_ node: YAMLNode?, profile: String, what: String, log: inout DiagnosticLog)
        -> [RoleEndpoint]
    {
        guard let node else { return [] }
        var result: [RoleEndpoint] = []
        for item in node.list(what, log: &log) ?? [] {
            if let text = item.scalarText {
                result.append(
                    RoleEndpoint(
                        service: qualify(text, profile: profile), sourcePorts: nil, citations: [], note: nil,
                        location: item.location))
            } else if let fields = item.fields(
                "an entry of \(what)",
                allowed: ["service", "source-port", "cite", "note", "optional", "within-cluster"],
                log: &log)
            {
                guard let service = fields["service"]?.string("service", log: &log) else {
                    log.error("an entry of \(what) needs 'service:'", at: item.location)
                    continue
                }
                result.append(
                    RoleEndpoint(
                        service: qualify(service, profile: profile),
                        sourcePorts: fields["source-port"]?.ports("source-port", log: &log),
                        citations: parseCitations(fields["cite"], log: &log),
                        note: fields["note"]?.string("note", log: &log),
                        optional: fields["optional"]?.bool("optional", log: &log) ?? false,
                        withinCluster: fields["within-cluster"]?.bool("within-cluster", log: &log) ?? false,
                        location: item.location))
            }
        }
        return result
    }

    /// A bare service name means one of the profile's own services.
    static func qualify(_ name: String, profile: String) -> String {
        name.contains("/") ? name : "\(profile)/\(name)"
    }

    static func parseRole(id: String, profile: String, _ node: YAMLNode, log: inout DiagnosticLog) -> Role? {
        guard let fields = node.fields("role '\(id)'", allowed: ["summary", "offers", "uses"], log: &log) else {
            return nil
        }
        let role = Role(
            id: id,
            summary: fields["summary"]?.string("summary", log: &log) ?? "",
            offers: parseEndpoints(fields["offers"], profile: profile, what: "offers", log: &log),
            uses: parseEndpoints(fields["uses"], profile: profile, what: "uses", log: &log),
            location: node.location)
        if role.offers.isEmpty && role.uses.isEmpty {
            log.error("role '\(id)' neither offers nor uses any service", at: node.location)
        }
        return role
    }

    static func parseConstraint(profile: String, _ node: YAMLNode, log: inout DiagnosticLog) -> VendorConstraint? {
        let keys: [StaticString] = ["kind", "service", "ports", "transport", "message", "cite", "roles"]
        guard let fields = node.fields("a constraint", allowed: keys, log: &log) else { return nil }
        let kindText = fields["kind"]?.string("kind", log: &log) ?? ""
        let kind: VendorConstraint.Kind
        switch kindText {
        case "reserved-ports": kind = .reservedPorts
        case "never-open": kind = .neverOpen
        case "allowed-ports", "peer-ports":
            guard let service = fields["service"]?.string("service", log: &log) else {
                log.error("an \(kindText) constraint needs 'service:'", at: node.location)
                return nil
            }
            let id = qualify(service, profile: profile)
            kind = kindText == "peer-ports" ? .peerPorts(service: id) : .allowedPorts(service: id)
        default:
            log.error(
                "unknown constraint kind '\(kindText)'", at: fields["kind"]?.location ?? node.location,
                fix: "use reserved-ports, never-open, allowed-ports or peer-ports")
            return nil
        }
        guard let ports = fields["ports"]?.ports("ports", allowZero: true, log: &log) else {
            log.error("a constraint needs 'ports:'", at: node.location)
            return nil
        }
        let transports =
            fields["transport"].map { parseTransports($0, at: node.location, log: &log) } ?? Transport.ported
        let citations = parseCitations(fields["cite"], log: &log)
        if citations.isEmpty { log.error("a constraint must cite its source", at: node.location) }
        let roles = fields["roles"]?.strings("roles", log: &log)?.map { qualify($0.0, profile: profile) }
        return VendorConstraint(
            kind: kind, ports: ports, transports: transports,
            message: fields["message"]?.string("message", log: &log) ?? "",
            citations: citations, location: node.location, roles: roles)
    }

    static func checkReferences(_ catalog: ProfileCatalog, log: inout DiagnosticLog) {
        let known = Array(catalog.services.keys)
        for profile in catalog.profiles {
            for role in profile.roles {
                for endpoint in role.offers + role.uses where catalog.services[endpoint.service] == nil {
                    log.error(
                        "role '\(role.id)' names unknown service '\(endpoint.service)'", at: endpoint.location,
                        fix: DidYouMean.hint(for: endpoint.service, among: known, kind: "service"))
                }
            }
            for constraint in profile.constraints {
                for role in constraint.roles ?? [] where catalog.roles[role] == nil {
                    log.error(
                        "constraint names unknown role '\(role)'", at: constraint.location,
                        fix: DidYouMean.hint(for: role, among: Array(catalog.roles.keys), kind: "role"))
                }
                if case .allowedPorts(let service) = constraint.kind, catalog.services[service] == nil {
                    log.error(
                        "constraint names unknown service '\(service)'", at: constraint.location,
                        fix: DidYouMean.hint(for: service, among: known, kind: "service"))
                }
                if case .peerPorts(let service) = constraint.kind, catalog.services[service] == nil {
                    log.error(
                        "constraint names unknown service '\(service)'", at: constraint.location,
                        fix: DidYouMean.hint(for: service, among: known, kind: "service"))
                }
            }
        }
    }
}

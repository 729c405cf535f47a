/// The text `sitewall profiles show` prints: every service with its ports, direction and sources.
public enum ProfileReport {
    public static func render(_ profile: Profile, documents: [String: SourceDocument] = [:]) -> String {
        var out = "\(profile.name): \(profile.vendor) \(profile.product)\n"
        if !profile.summary.isEmpty { out += "  \(profile.summary)\n" }
        out += "  file: \(profile.file)\n"
        for file in profile.replaces { out += "  replaces: \(file)\n" }
        // Every document the profile cites, by the id its citations use.
        var cited = profile.documents
        for citation in profile.citations where !cited.contains(citation.document) { cited.append(citation.document) }
        if !cited.isEmpty {
            out += "  documents:\n"
            for id in cited { out += "    \(id): \(documents[id]?.name ?? "(not listed in any profile-set.yaml)")\n" }
        }
        out += "\nservices:\n"
        for service in profile.services {
            let transports = service.transports.map(\.rawValue).joined(separator: "+")
            var facts =
                service.isPortless
                ? ["icmp echo request"]
                : [
                    "\(transports)/\(service.ports?.description ?? "no default")",
                    service.configurable ? "configurable" : "fixed",
                ]
            if let limit = service.limit { facts.append("limit \(limit)") }
            if service.initiation == .peer { facts.append("peer (either side initiates)") }
            if service.initiation == .mutual { facts.append("mutual (users and offerers both initiate)") }
            if service.scope == .loopback { facts.append("loopback only") }
            if let sport = service.sourcePorts { facts.append("source port \(sport)") }
            if service.broadcast { facts.append("broadcast") }
            if let helper = service.helper { facts.append("helper \(helper.rawValue)") }
            out += "  \(service.id)  \(facts.joined(separator: ", "))\n"
            if !service.summary.isEmpty { out += "      \(service.summary)\n" }
            for citation in service.citations { out += "      source: \(citation)\n" }
            if let note = service.note { out += "      note: \(note)\n" }
        }
        out += "\nroles:\n"
        for role in profile.roles {
            out += "  \(role.id)  \(role.summary)\n"
            if !role.offers.isEmpty {
                out += "      listens on: \(role.offers.map(\.service).joined(separator: ", "))\n"
            }
            if !role.uses.isEmpty { out += "      connects to: \(role.uses.map(\.service).joined(separator: ", "))\n" }
            for endpoint in role.offers + role.uses {
                for citation in endpoint.citations { out += "      source (\(endpoint.service)): \(citation)\n" }
            }
        }
        if !profile.constraints.isEmpty {
            out += "\nconstraints:\n"
            for constraint in profile.constraints {
                let kind: String
                switch constraint.kind {
                case .reservedPorts: kind = "reserved ports"
                case .neverOpen: kind = "never opened"
                case .allowedPorts(let service): kind = "allowed ports for \(service)"
                case .peerPorts(let service): kind = "ports of the \(service) peers"
                }
                out += "  \(kind): \(constraint.ports) - \"\(constraint.message)\"\n"
                for citation in constraint.citations { out += "      source: \(citation)\n" }
            }
        }
        return out
    }
}

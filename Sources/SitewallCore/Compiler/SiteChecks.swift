/// Checks that do not stop compilation but that an engineer should read.
enum SiteChecks {
    /// Cross-zone flows that the roles imply but no conduit allows: they stay blocked, and `check` says so.
    static func conduitGaps(_ site: ResolvedSite, flows: [FlowGroup], log: inout DiagnosticLog) {
        // The answering direction of a mutual exchange is reported with the exchange itself.
        for group in flows where !group.allowed && !group.reverse && !group.service.unaddressedInitiator {
            if site.block(from: group.fromZone, to: group.toZone, service: group.service.id) != nil { continue }
            let location = site.host(named: group.initiators.first?.host ?? "")?.location
            log.warning(
                "no conduit lets \(group.summary) cross from '\(group.fromZone)' to '\(group.toZone)'; "
                    + "it stays blocked",
                at: location,
                fix:
                    "if it is needed, add '- { from: \(group.fromZone), to: \(group.toZone), "
                    + "services: [\(group.service.id)] }' to conduits; if not, add it with 'why: ...' to blocked"
            )
        }
        // Requests from hosts with no address are broadcasts: they need a listener in their own zone.
        var served = Set<[String]>()
        for group in flows where !group.crossesZones && group.service.unaddressedInitiator {
            served.insert([group.service.id, group.fromZone])
        }
        var reported = Set<[String]>()
        for group in flows where group.crossesZones && group.service.unaddressedInitiator {
            let key = [group.service.id, group.fromZone]
            guard !served.contains(key), reported.insert(key).inserted else { continue }
            log.warning(
                "\(group.summary): its requests are broadcast from hosts with no address yet, "
                    + "and no router forwards them",
                at: site.host(named: group.initiators.first?.host ?? "")?.location,
                fix: "put a \(group.service.profileName) server in zone '\(group.fromZone)', or give the "
                    + "gateway of the zone the \(group.service.profileName)/relay role")
        }
    }

    /// A rule that can never match because an earlier accept in the same chain takes all its packets.
    struct Shadowing {
        var chain: String
        var message: String
    }

    static func report(_ findings: [Shadowing], policy: Policy, site: ResolvedSite, log: inout DiagnosticLog) {
        let location = site.host(named: policy.target.name)?.location
        for finding in findings {
            log.warning(
                "on \(policy.target), chain \(finding.chain): \(finding.message)", at: location,
                fix: "the two services share a port; if they are the same program, drop one of the roles")
        }
    }

    /// The shadowed rules of a table, for every target that has it.
    static func shadowedRules(in table: Table) -> [Shadowing] {
        let sets = Dictionary(uniqueKeysWithValues: table.sets.map { ($0.name, Set($0.elements)) })
        var findings: [Shadowing] = []
        for chain in table.chains {
            let flowRules = chain.rules.filter { $0.origin?.kind != .baseline }
            for (i, later) in flowRules.enumerated() {
                guard let earlier = flowRules[..<i].first(where: { covers($0, later, sets: sets) }) else { continue }
                let what = { (rule: Rule) in
                    "\(rule.origin?.service ?? "?") "
                        + "\(rule.transport?.rawValue ?? "")/\(rule.dport?.description ?? "any")"
                }
                let kind =
                    earlier.saddr == later.saddr && earlier.daddr == later.daddr && earlier.dport == later.dport
                    ? "duplicates" : "is shadowed by"
                findings.append(
                    Shadowing(
                        chain: chain.name,
                        message: "the rule for \(what(later)) \(kind) the earlier rule for \(what(earlier))"))
            }
        }
        return findings
    }

    static func covers(_ a: Rule, _ b: Rule, sets: [String: Set<IPAddress>]) -> Bool {
        guard a.verdict == b.verdict, a.family == b.family, a.transport == b.transport, a.helper == b.helper else {
            return false
        }
        guard a.iifname == nil || a.iifname == b.iifname, a.oifname == nil || a.oifname == b.oifname else {
            return false
        }
        // A test of the payload holds for some segments only.
        guard a.payload == nil || a.payload == b.payload else { return false }
        func portsCover(_ x: PortSet?, _ y: PortSet?) -> Bool {
            guard let x else { return true }
            guard let y else { return false }
            return x.contains(y)
        }
        func addressesCover(_ x: AddressMatch?, _ y: AddressMatch?) -> Bool {
            guard let x else { return true }
            guard let y else { return false }
            if x == y { return true }
            let resolve = { (m: AddressMatch) -> Set<IPAddress>? in
                switch m {
                case .set(let name): sets[name] ?? []
                case .addresses(let list): Set(list)
                case .network: nil
                }
            }
            if case .network(let network) = x, let inner = resolve(y) { return inner.allSatisfy(network.contains) }
            guard let outer = resolve(x), let inner = resolve(y) else { return false }
            return outer.isSuperset(of: inner)
        }
        return portsCover(a.sport, b.sport) && portsCover(a.dport, b.dport)
            && addressesCover(a.saddr, b.saddr) && addressesCover(a.daddr, b.daddr)
    }
}

import Foundation

/// Puts a PolicyDiff into words an operator can act on, grouped by the flow each change touches.
public struct DiffReport: Sendable {
    public enum Mode: Sendable {
        /// Compiled site (expected) against the running ruleset.
        case live
        /// New site (expected) against the old site (in the place of running): what a change would do.
        case review
    }

    public struct Entry: Sendable, Codable {
        public var kind: String
        /// Live: "-" the site has it and the running rules lack it, "+" the running rules have it extra.
        /// Review: "+" the new site adds it, "-" the new site removes it.
        public var sign: String
        public var service: String?
        public var citation: String?
        public var chain: String?
        public var set: String?
        public var addresses: [String]?
        public var hosts: [String]?
        public var rule: String?
        public var message: String
    }

    public var site: String
    public var target: Target
    public var mode: Mode
    public var entries: [Entry] = []
    public var warnings: [String] = []

    public init(
        diff: PolicyDiff, site: ResolvedSite?, target: Target, mode: Mode, otherChains: [RunningState.OtherChain] = []
    ) {
        self.site = site?.site.name ?? diff.expected?.site ?? "?"
        self.target = target
        self.mode = mode
        var owners: [IPAddress: String] = [:]
        for host in site?.hosts ?? [] { for address in host.addresses { owners[address.address] = host.name } }
        let describer = Describer(diff: diff, owners: owners, target: target, mode: mode)
        entries = diff.changes.flatMap(describer.entries)
        // Chains that can only accept are warned about; the others are differences (see PolicyDiff).
        for other in otherChains where other.effects.isEmpty && ["input", "forward", "output"].contains(other.hook) {
            let order = other.priority < 0 ? "before" : (other.priority > 0 ? "after" : "at the same priority as")
            warnings.append(
                "table \(other.family) \(other.table) also hooks \(other.hook) (chain \(other.chain), "
                    + "priority \(other.priority), policy \(other.policy)), running \(order) sitewall's chain: "
                    + "a drop there blocks what sitewall allows, and an accept there does not skip sitewall's chain"
            )
        }
    }

    /// The differences and the closing line; `warnings` are not part of it (the CLI writes them to stderr).
    public var text: String {
        let title =
            mode == .live ? "compiled site vs running ruleset" : "old site vs new site (what the change would do)"
        var out = "site \(site), \(target): \(title)\n"
        let groups = Dictionary(grouping: entries) { $0.service ?? "" }
        for service in groups.keys.sorted(by: { ($0.isEmpty ? "~" : $0) < ($1.isEmpty ? "~" : $1) }) {
            let items = groups[service]!
            let citation = items.compactMap(\.citation).first.map { "  [\($0)]" } ?? ""
            out += service.isEmpty ? "table and chains\n" : "\(service)\(citation)\n"
            for item in items { out += "  \(item.sign) \(item.message)\n" }
        }
        let minus = entries.filter { $0.sign == "-" }.count
        let plus = entries.count - minus
        if mode == .live {
            out +=
                entries.isEmpty
                ? "no differences: the running rules are what the site compiles to\n"
                : "\(entries.count) difference\(entries.count == 1 ? "" : "s"): "
                    + "\(minus) missing from the running rules, \(plus) extra\n"
        } else {
            out +=
                entries.isEmpty
                ? "no differences: the change does not alter \(target.name)'s rules\n"
                : "\(entries.count) change\(entries.count == 1 ? "" : "s"): \(plus) added, \(minus) removed\n"
        }
        return out
    }

    public func json() throws -> String {
        struct Document: Codable {
            var site: String
            var target: String
            var kind: String
            var mode: String
            var differences: Int
            var changes: [Entry]
            var warnings: [String]
        }
        let document = Document(
            site: site, target: target.name, kind: target.kind.rawValue, mode: mode == .live ? "live" : "review",
            differences: entries.count, changes: entries, warnings: warnings)
        return try JSONText.encode(document)
    }
}

/// Words for each change, from the target's point of view.
private struct Describer {
    let diff: PolicyDiff
    let owners: [IPAddress: String]
    let target: Target
    let mode: DiffReport.Mode

    var review: Bool { mode == .review }

    func who(_ address: IPAddress) -> String {
        owners[address].map { "\($0) (\(address))" } ?? "\(address) (not in the site)"
    }

    func service(of rule: Rule) -> String? {
        if let service = rule.origin?.service { return service }
        guard let comment = rule.comment, let colon = comment.firstIndex(of: ":") else { return nil }
        let candidate = comment[..<colon].replacingOccurrences(of: "reply ", with: "")
        return candidate.contains("/") && !candidate.contains(" ") ? candidate : nil
    }

    func citation(of rule: Rule) -> String? {
        Citation.preferred(rule.origin?.citations ?? []).map(\.short)
    }

    func ports(_ rule: Rule) -> String {
        let transport = rule.transport?.rawValue ?? "any"
        let sport = rule.sport.map { " from port \($0)" } ?? ""
        return "\(transport)/\(rule.dport?.description ?? "any")\(sport)"
    }

    func side(_ match: AddressMatch?, in policy: Policy?) -> String {
        switch match {
        case nil: return "anywhere"
        case .addresses(let list)?: return list.map(who).joined(separator: ", ")
        case .network(let network)?: return "\(network)"
        case .set(let name)?:
            let members = policy?.table.set(named: name)?.elements ?? []
            let names = members.prefix(3).map { owners[$0] ?? $0.description }
            let more = members.count > 3 ? " and \(members.count - 3) more" : ""
            return "\(names.joined(separator: ", "))\(more) (set \(name))"
        }
    }

    /// "scada-1 accepts tcp/2080 from X", for a rule of a chain.
    func sentence(_ rule: Rule, chain: String, from: String? = nil, to: String? = nil, policy: Policy?) -> String {
        let source = from ?? side(rule.saddr, in: policy)
        let destination = to ?? side(rule.daddr, in: policy)
        // In nft syntax with its comment, as `nft list` shows it.
        if rule.foreign != nil { return "a rule sitewall does not write in chain \(chain): \(NftBackend.render(rule))" }
        if rule.origin?.kind == .baseline || rule.transport == nil || rule.iif != nil || rule.oif != nil {
            return "\(chain): \(NftBackend.render(rule))"
        }
        switch chain {
        case "input":
            return "\(target.name) accepts \(ports(rule)) from \(source)"
                + (rule.daddr != nil ? " on \(destination)" : "")
        case "output":
            return "\(target.name) may open \(ports(rule)) to \(destination)"
                + (rule.saddr != nil ? " from \(source)" : "")
        default:
            let path = [rule.iifname.map { "in \($0)" }, rule.oifname.map { "out \($0)" }].compactMap { $0 }.joined(
                separator: ", ")
            return "\(target.name) forwards \(ports(rule)) from \(source) to \(destination)"
                + (path.isEmpty ? "" : " (\(path))")
        }
    }

    func negate(_ text: String, missing: Bool) -> String {
        if review { return (missing ? "would: " : "would no longer: ") + text }
        return missing ? "no longer: " + text : "also: " + text
    }

    func entry(
        _ kind: String, missing: Bool, rule: Rule? = nil, chain: String? = nil, set: String? = nil,
        addresses: [IPAddress]? = nil, message: String
    ) -> DiffReport.Entry {
        // Live: "-" the site has it and the running rules do not. Review: "+" the new site adds it.
        DiffReport.Entry(
            kind: kind, sign: missing != review ? "-" : "+", service: rule.flatMap(service),
            citation: rule.flatMap(citation),
            chain: chain, set: set, addresses: addresses?.map(\.description),
            hosts: addresses?.compactMap { owners[$0] }, rule: rule.map { NftBackend.render($0) },
            message: message)
    }

    func entries(_ change: PolicyDiff.Change) -> [DiffReport.Entry] {
        let expected = diff.expected
        let running = diff.running
        switch change {
        case .tableMissing:
            return [
                entry(
                    "table-missing", missing: true,
                    message: review
                        ? "\(target.name) would get table inet sitewall (the old site had no rules for it)"
                        : "table inet sitewall is not loaded: "
                            + "nothing the site compiles to is enforced on \(target.name)"
                )
            ]
        case .tableExtra:
            return [
                entry(
                    "table-extra", missing: false,
                    message: review
                        ? "\(target.name) would lose table inet sitewall"
                        : "table inet sitewall is loaded, but the site has no rules for \(target.name)")
            ]
        case .chainMissing(let chain):
            return [
                entry(
                    "chain-missing", missing: true, chain: chain.name,
                    message:
                        "chain \(chain.name) (hook \(chain.hook.rawValue), policy \(chain.policy.rawValue)) is missing")
            ]
        case .chainExtra(let chain):
            return [
                entry(
                    "chain-extra", missing: false, chain: chain.name,
                    message: "extra chain \(chain.name) (hook \(chain.hook.rawValue), policy \(chain.policy.rawValue))")
            ]
        case .chainChanged(let name, let field, let want, let have):
            let text =
                review
                ? "chain \(name): \(field) would change from \(have) to \(want)"
                : "chain \(name): \(field) is \(have), the site says \(want)"
            return [entry("chain-\(field)", missing: true, chain: name, message: text)]
        case .ruleMissing(let chain, let rule):
            return [
                entry(
                    "rule-missing", missing: true, rule: rule, chain: chain,
                    message: negate(sentence(rule, chain: chain, policy: expected), missing: true) + " (rule missing)")
            ]
        case .ruleExtra(let chain, let rule):
            return [
                entry(
                    "rule-extra", missing: false, rule: rule, chain: chain,
                    message: negate(sentence(rule, chain: chain, policy: running), missing: false) + " (extra rule)")
            ]
        case .ruleOrder(let chain):
            return [
                entry(
                    "rule-order", missing: true, chain: chain,
                    message: "chain \(chain) holds the same rules in another order")
            ]
        case .setMissing(let set):
            return [
                entry(
                    "set-missing", missing: true, set: set.name,
                    message: "set \(set.name) is missing (\(set.elements.count) elements)")
            ]
        case .setExtra(let set):
            return [
                entry(
                    "set-extra", missing: false, set: set.name,
                    message: "extra set \(set.name) (\(set.elements.count) elements)")
            ]
        case .elementsMissing(let setName, let addresses), .elementsExtra(let setName, let addresses):
            let missing = { if case .elementsMissing = change { return true } else { return false } }()
            // Say what each address can or cannot do, through every rule that uses the set.
            let policy = missing ? expected : running
            let users =
                (policy ?? expected)?.table.chains.flatMap { chain in
                    chain.rules.filter { $0.saddr == .set(setName) || $0.daddr == .set(setName) }.map {
                        (chain.name, $0)
                    }
                } ?? []
            var result: [DiffReport.Entry] = []
            for address in addresses {
                for (chain, rule) in users {
                    let onSource = rule.saddr == .set(setName)
                    let text = sentence(
                        rule, chain: chain, from: onSource ? who(address) : nil, to: onSource ? nil : who(address),
                        policy: policy)
                    result.append(
                        entry(
                            missing ? "element-missing" : "element-extra", missing: missing, rule: rule, chain: chain,
                            set: setName, addresses: [address],
                            message: negate(text, missing: missing)
                                + " (\(missing ? "missing from" : "extra in") set \(setName))"))
                }
                if users.isEmpty {
                    result.append(
                        entry(
                            missing ? "element-missing" : "element-extra", missing: missing, set: setName,
                            addresses: [address],
                            message: "\(who(address)) \(missing ? "missing from" : "extra in") set \(setName)"))
                }
            }
            return result
        case .helperMissing(let helper):
            return [entry("helper-missing", missing: true, message: "ct helper \(helper.rawValue) is missing")]
        case .helperExtra(let helper):
            return [entry("helper-extra", missing: false, message: "extra ct helper \(helper.rawValue)")]
        case .counterMissing(let name):
            return [entry("counter-missing", missing: true, message: "counter \(name) is missing")]
        case .counterExtra(let name):
            return [entry("counter-extra", missing: false, message: "extra counter \(name)")]
        case .foreignObject(let what):
            return [entry("foreign", missing: false, message: "an object sitewall does not write: \(what)")]
        }
    }
}

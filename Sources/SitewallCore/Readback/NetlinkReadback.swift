import CNftnl
import Foundation

/// Reads sitewall's table back from the kernel and decodes it into a policy. A rule is read as
/// sitewall's only when encoding it again gives exactly the expressions dumped (`RuleSpelling`);
/// chains, sets and helpers are read only when they carry nothing sitewall never sets.
public enum NetlinkReadback {
    /// With `nftSyntax` (the socket is in this process's network namespace), rules sitewall did not
    /// write are shown as nft lists them (libnftables); otherwise in libnftnl's notation.
    public static func read(
        socket: NetlinkSocket, target: Target, site: String, table: String = Table.defaultName, nftSyntax: Bool = false
    ) throws -> RunningState {
        let own = try NetlinkDump(try socket.consistentSnapshot(table: table).bytes)
        // nft's listing is asked for once, and only when a foreign rule needs it.
        var listing: [UInt64: String]?
        let nftText: (UInt64) -> String? = { handle in
            guard nftSyntax else { return nil }
            if listing == nil { listing = ForeignRuleText.live(family: "inet", table: table) }
            return listing?[handle]
        }
        var state = decode(own, target: target, site: site, table: table, nftText: nftText)
        state.otherChains = otherChains(try NetlinkDump(try socket.dumpAll()), table: table)
        return state
    }

    static func setFlagNames(_ flags: UInt32) -> String {
        let names: [(nft_set_flags, String)] = [
            (NFT_SET_ANONYMOUS, "anonymous"), (NFT_SET_CONSTANT, "constant"), (NFT_SET_INTERVAL, "interval"),
            (NFT_SET_MAP, "map"), (NFT_SET_TIMEOUT, "timeout"), (NFT_SET_EVAL, "dynamic"), (NFT_SET_OBJECT, "object"),
            (NFT_SET_CONCAT, "concat"),
        ]
        let known = names.filter { flags & $0.0.rawValue != 0 }
        let rest = flags & ~known.reduce(0) { $0 | $1.0.rawValue }
        return (known.map(\.1) + (rest != 0 ? ["0x" + String(rest, radix: 16)] : [])).joined(separator: ", ")
    }

    /// The base chains of every other table, with what their table's rules can do to traffic.
    static func otherChains(_ dump: NetlinkDump, table: String) -> [RunningState.OtherChain] {
        var effects: [String: Set<String>] = [:]  // "family table" -> what its rules can do
        for rule in dump.rules {
            let key = FamilySpelling.name(rule.family) + " " + rule.table
            for (expression, name) in zip(rule.expressions, rule.names) {
                if let effect = effect(of: expression, named: name) { effects[key, default: []].insert(effect) }
            }
        }
        return dump.chains.compactMap { object in
            guard let number = object.hook else { return nil }
            if object.family == FamilySpelling.inet && object.table == table { return nil }
            let family = FamilySpelling.name(object.family)
            var chain = RunningState.OtherChain(
                family: family, table: object.table, chain: object.name,
                hook: RunningState.OtherChain.hookName(family: family, number: Int(number)),
                priority: Int(object.priority),
                policy: object.policy == ChainPolicy.drop.verdict ? "drop" : "accept")
            chain.addEffects(of: effects[family + " " + chain.table] ?? [])
            return chain
        }
    }

    /// What one expression of another table's rule can do to a packet sitewall filters, if anything.
    static func effect(of expression: NetlinkExpression, named name: String) -> String? {
        if case .verdict(let code) = expression { return code == NF_DROP ? "drop" : nil }
        let effects = [
            "reject": "reject", "nat": "nat", "masq": "masquerade", "redir": "redirect", "notrack": "notrack",
            "queue": "queue", "tproxy": "tproxy",
        ]
        return effects[name]
    }

    /// Rebuilds the policy from a dump of sitewall's table.
    static func decode(
        _ dump: NetlinkDump, target: Target, site: String, table name: String,
        nftText: (UInt64) -> String? = { _ in nil }
    ) -> RunningState {
        var state = RunningState(policy: nil)
        guard let tableObject = dump.tables.first(where: { $0.family == FamilySpelling.inet && $0.name == name })
        else { return state }
        if tableObject.flags != 0 {
            let dormant = NFT_TABLE_F_DORMANT.rawValue
            state.tableFlags = tableObject.flags & dormant != 0 ? ["dormant"] : []
            if tableObject.flags & ~dormant != 0 { state.tableFlags.append("flags \(tableObject.flags & ~dormant)") }
        }
        var table = Table()
        table.name = name
        for object in dump.objects {
            if object.type == UInt32(NFT_OBJECT_CT_HELPER), let helper = ConntrackHelper(rawValue: object.name),
                object.helper == helper.rawValue, object.l4proto == helper.protocolNumber
            {
                table.helpers.append(helper)
            } else if let value = object.counter {
                table.counters = (table.counters ?? []) + [object.name]
                state.counters[object.name] = value
            } else {
                state.unreadable.append("object \(object.name) (type \(object.type)), which sitewall does not write")
            }
        }
        for set in dump.sets.sorted(by: { $0.name < $1.name }) where set.flags & NFT_SET_ANONYMOUS.rawValue == 0 {
            // sitewall's named sets are interval sets and nothing else: a timeout or map set is not its own.
            if set.flags != AddressSetElements.kernelFlags {
                state.foreignSets.append(
                    "set \(set.name) (flags \(setFlagNames(set.flags)), which sitewall never sets)")
                continue
            }
            if !set.unusual.isEmpty {
                state.foreignSets.append(
                    "set \(set.name) (\(set.unusual.joined(separator: ", ")), which sitewall never sets)")
                continue
            }
            guard let family = AddressSetSpelling.family(keyType: set.keyType, keyLength: set.keyLength) else {
                state.foreignSets.append("set \(set.name) (a key type sitewall does not use)")
                continue
            }
            guard !set.elements.contains(where: \.unusual),
                let addresses = AddressSetElements.fromKernel(set.elements.map { ($0.key, $0.flags) }, family: family)
            else {
                state.foreignSets.append(
                    "set \(set.name) (elements that are not address ranges sitewall writes: timeouts, data, "
                        + "or more than \(AddressSetElements.expansionLimit) addresses)")
                continue
            }
            table.sets.append(AddressSet(name: set.name, family: family, elements: addresses, comment: set.comment))
        }
        for object in dump.chains where object.family == FamilySpelling.inet && object.table == name {
            guard let number = object.hook, let hook = Hook(number: number) else {
                state.extraChains.append(object.name)
                continue
            }
            if !object.unusual.isEmpty || (object.type ?? "filter") != "filter" {
                let what =
                    object.unusual + ((object.type ?? "filter") != "filter" ? ["type \(object.type ?? "?")"] : [])
                state.unreadable.append(
                    "chain \(object.name) (\(what.joined(separator: ", ")), which sitewall never sets)")
            }
            table.chains.append(
                Chain(
                    name: object.name, hook: hook, priority: Int(object.priority),
                    policy: object.policy == ChainPolicy.accept.verdict ? .accept : .drop, rules: []))
        }
        for object in dump.rules where object.family == FamilySpelling.inet && object.table == name {
            guard let index = table.chains.firstIndex(where: { $0.name == object.chain }) else { continue }
            var rule: Rule
            if let read = RuleSpelling.read(netlink: object.expressions) {
                rule = read
            } else {
                // Not a rule sitewall writes: kept with its expressions, so that the diff reports it.
                rule = Rule(verdict: .accept)
                if case .verdict(let code)? = object.expressions.last, code == NF_DROP { rule.verdict = .drop }
                rule.foreign =
                    nftText(object.handle)
                    ?? zip(object.names, object.texts).map { name, text in
                        "[ " + (text.hasPrefix(name) ? text : "\(name) \(text)") + " ]"
                    }.joined(separator: " ")
            }
            rule.comment = object.comment
            table.chains[index].rules.append(rule)
        }
        state.policy = Policy(site: site, target: target, table: table)
        return state
    }
}

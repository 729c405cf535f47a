import Foundation

/// Reads a saved `nft -j list ruleset` into the same running state the netlink readback gives,
/// so that an auditor can diff without root or on another machine.
public enum NftJSONReader {
    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(_ data: Data, target: Target, site: String, table name: String = Table.defaultName) throws
        -> RunningState
    {
        struct Document: Decodable { var nftables: [NftJSONItem] }
        let decoder = JSONDecoder()
        decoder.userInfo[NftJSONItem.tableKey] = name
        guard let document = try? decoder.decode(Document.self, from: data) else {
            throw ReadError(description: "not an 'nft -j list ruleset' document: expected {\"nftables\": [...]}")
        }
        // One item at a time as JSONSerialization would give it: the whole dump is never boxed at once.
        let items = LazyItems(document.nftables)
        var table = Table()
        table.name = name
        var found = false
        var state = RunningState(policy: nil)
        var chains: [Chain] = []
        for item in items {
            if let object = item["table"] as? [String: Any], object["family"] as? String == "inet",
                object["name"] as? String == name
            {
                found = true
                // nft 1.0.6 misprints table flags in JSON (an address instead of "dormant"): a value that
                // is no flag name is still a flag sitewall never sets, said as such.
                state.tableFlags = flags(object).map {
                    ["dormant", "owner", "persist"].contains($0)
                        ? $0
                        : "flags that nft wrote as '\(InputText.clipped($0))' (no flag name: nft 1.0.6 misprints "
                            + "table flags in JSON; 'sitewall diff' without --running reads them from the kernel)"
                }
            } else if let object = item["chain"] as? [String: Any] {
                let ours = object["family"] as? String == "inet" && object["table"] as? String == name
                let hookName = object["hook"] as? String
                if ours {
                    guard let hookName, let hook = Hook(rawValue: hookName) else {
                        state.extraChains.append(object["name"] as? String ?? "?")
                        continue
                    }
                    // A priority that is no exact integer is not read as 0: it is reported.
                    guard let priority = object["prio"] as? Int else {
                        state.unreadable.append(
                            "chain \(object["name"] as? String ?? "?") (priority \(object["prio"] ?? "missing"), "
                                + "which is no chain priority sitewall can read)")
                        continue
                    }
                    chains.append(
                        Chain(
                            name: object["name"] as? String ?? "?", hook: hook, priority: priority,
                            policy: object["policy"] as? String == "accept" ? .accept : .drop, rules: []))
                } else if let hookName {
                    state.otherChains.append(
                        RunningState.OtherChain(
                            family: object["family"] as? String ?? "?", table: object["table"] as? String ?? "?",
                            chain: object["name"] as? String ?? "?", hook: hookName,
                            priority: object["prio"] as? Int ?? 0, policy: object["policy"] as? String ?? "accept"))
                }
            } else if let object = item["set"] as? [String: Any], object["family"] as? String == "inet",
                object["table"] as? String == name
            {
                let setName = object["name"] as? String ?? "?"
                let family: IPFamily
                switch object["type"] as? String {
                case "ipv4_addr": family = .ipv4
                case "ipv6_addr": family = .ipv6
                default:
                    state.foreignSets.append("set \(setName) (a key type sitewall does not use)")
                    continue
                }
                let flags = flags(object)
                if flags != AddressSetElements.nftFlags || object["timeout"] != nil {
                    state.foreignSets.append(
                        "set \(setName) (flags \(flags.joined(separator: ", ")), which sitewall never sets)")
                    continue
                }
                // Addresses, ranges and prefixes; an element with a timeout, counter or data is not sitewall's.
                guard let elements = AddressSetElements.fromJSON(object["elem"] as? [Any] ?? [], family: family) else {
                    state.foreignSets.append(
                        "set \(setName) (elements that are not address ranges sitewall writes, or more than "
                            + "\(AddressSetElements.expansionLimit) addresses)")
                    continue
                }
                table.sets.append(
                    AddressSet(name: setName, family: family, elements: elements, comment: object["comment"] as? String)
                )
            } else if let object = item["ct helper"] as? [String: Any], object["family"] as? String == "inet",
                object["table"] as? String == name
            {
                if let helper = ConntrackHelper(rawValue: object["type"] as? String ?? "") {
                    table.helpers.append(helper)
                }
            } else if let object = item["counter"] as? [String: Any], object["family"] as? String == "inet",
                object["table"] as? String == name, let counter = object["name"] as? String
            {
                table.counters = (table.counters ?? []) + [counter]
                state.counters[counter] = CounterValue(
                    packets: UInt64(object["packets"] as? Int ?? 0), bytes: UInt64(object["bytes"] as? Int ?? 0))
            } else if let object = item["rule"] as? [String: Any], object["family"] as? String == "inet",
                object["table"] as? String == name,
                let chainName = object["chain"] as? String,
                let index = chains.firstIndex(where: { $0.name == chainName })
            {
                chains[index].rules.append(
                    decode(object["expr"] as? [Any] ?? [], comment: object["comment"] as? String))
            }
        }
        // What each other table's rules can do; a chain of such a table can do it (through jumps too).
        var effects: [String: Set<String>] = [:]
        let keys = [
            "drop": "drop", "reject": "reject", "snat": "nat", "dnat": "nat", "masquerade": "masquerade",
            "redirect": "redirect", "notrack": "notrack", "queue": "queue", "tproxy": "tproxy",
        ]
        for item in items {
            guard let object = item["rule"] as? [String: Any],
                !(object["family"] as? String == "inet" && object["table"] as? String == name)
            else { continue }
            let key = "\(object["family"] as? String ?? "?") \(object["table"] as? String ?? "?")"
            for case let expression as [String: Any] in object["expr"] as? [Any] ?? [] {
                for (word, effect) in keys where expression[word] != nil { effects[key, default: []].insert(effect) }
            }
        }
        for index in state.otherChains.indices {
            let chain = state.otherChains[index]
            state.otherChains[index].addEffects(of: effects["\(chain.family) \(chain.table)"] ?? [])
        }
        guard found else { return state }
        table.sets.sort { $0.name < $1.name }
        table.chains = chains
        state.policy = Policy(site: site, target: target, table: table)
        return state
    }

    /// An object's flags: nft writes one as a string, several as a list.
    static func flags(_ object: [String: Any]) -> [String] {
        (object["flags"] as? [String]) ?? (object["flags"] as? String).map { [$0] } ?? []
    }

    /// One rule's expressions, as nft prints them in JSON, back into a Rule; a rule sitewall does not
    /// write keeps its expressions as JSON text in `foreign`, so that the diff reports it.
    static func decode(_ expressions: [Any], comment: String?) -> Rule {
        let objects = expressions.compactMap { $0 as? [String: Any] }
        if objects.count == expressions.count, var rule = RuleSpelling.read(json: objects) {
            rule.comment = comment
            return rule
        }
        var foreign = Rule(verdict: objects.last?.keys.contains("drop") == true ? .drop : .accept)
        foreign.comment = comment
        foreign.foreign = ForeignRuleText.offline(expressions)
        return foreign
    }
}

/// The items of a dump, each turned into `[kind: object]` when it is looked at.
struct LazyItems: Sequence {
    var items: [NftJSONItem]
    init(_ items: [NftJSONItem]) { self.items = items }

    func makeIterator() -> AnyIterator<[String: Any]> {
        var index = 0
        return AnyIterator {
            guard index < items.count else { return nil }
            defer { index += 1 }
            return [items[index].kind: items[index].object.mapValues(\.any)]
        }
    }
}

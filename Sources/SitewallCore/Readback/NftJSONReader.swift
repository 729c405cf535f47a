import Foundation

/// Reads a saved `nft -j list ruleset` into the same running state the netlink readback gives,
/// so that an auditor can diff without root or on another machine.
public enum NftJSONReader {
    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func read(_ data: Data, target: Target, site: String, table name: String = Table.defaultName) throws -> RunningState {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let items = root["nftables"] as? [[String: Any]] else {
            throw ReadError(description: "not an 'nft -j list ruleset' document: expected {\"nftables\": [...]}")
        }
        var table = Table()
        table.name = name
        var found = false
        var state = RunningState(policy: nil)
        var chains: [Chain] = []
        for item in items {
            if let object = item["table"] as? [String: Any], object["family"] as? String == "inet", object["name"] as? String == name {
                found = true
                state.tableFlags = flags(object)
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
                        state.unreadable.append("chain \(object["name"] as? String ?? "?") (priority \(object["prio"] ?? "missing"), "
                                                + "which is no chain priority sitewall can read)")
                        continue
                    }
                    chains.append(Chain(name: object["name"] as? String ?? "?", hook: hook, priority: priority,
                                        policy: object["policy"] as? String == "accept" ? .accept : .drop, rules: []))
                } else if let hookName {
                    state.otherChains.append(RunningState.OtherChain(family: object["family"] as? String ?? "?", table: object["table"] as? String ?? "?",
                                                                     chain: object["name"] as? String ?? "?", hook: hookName,
                                                                     priority: object["prio"] as? Int ?? 0, policy: object["policy"] as? String ?? "accept"))
                }
            } else if let object = item["set"] as? [String: Any], object["family"] as? String == "inet", object["table"] as? String == name {
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
                if !flags.isEmpty || object["timeout"] != nil {
                    state.foreignSets.append("set \(setName) (flags \(flags.joined(separator: ", ")), which sitewall never sets)")
                    continue
                }
                // Every element must be a plain address: a range, prefix or element with a timeout is not sitewall's.
                let raw = object["elem"] as? [Any] ?? []
                let elements = raw.compactMap { ($0 as? String).flatMap(IPAddress.init) }.sorted()
                if elements.count != raw.count {
                    state.foreignSets.append("set \(setName) (elements that are not plain addresses)")
                    continue
                }
                table.sets.append(AddressSet(name: setName, family: family, elements: elements, comment: object["comment"] as? String))
            } else if let object = item["ct helper"] as? [String: Any], object["family"] as? String == "inet", object["table"] as? String == name {
                if let helper = ConntrackHelper(rawValue: object["type"] as? String ?? "") { table.helpers.append(helper) }
            } else if let object = item["rule"] as? [String: Any], object["family"] as? String == "inet", object["table"] as? String == name,
                      let chainName = object["chain"] as? String, let index = chains.firstIndex(where: { $0.name == chainName }) {
                chains[index].rules.append(decode(object["expr"] as? [Any] ?? [], comment: object["comment"] as? String))
            }
        }
        // What each other table's rules can do; a chain of such a table can do it (through jumps too).
        var effects: [String: Set<String>] = [:]
        let keys = ["drop": "drop", "reject": "reject", "snat": "nat", "dnat": "nat", "masquerade": "masquerade",
                    "redirect": "redirect", "notrack": "notrack", "queue": "queue", "tproxy": "tproxy"]
        for item in items {
            guard let object = item["rule"] as? [String: Any], !(object["family"] as? String == "inet" && object["table"] as? String == name)
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

    /// One rule's expressions, as nft prints them in JSON, back into a Rule.
    static func decode(_ expressions: [Any], comment: String?) -> Rule {
        var rule = Rule(verdict: .accept)
        rule.comment = comment
        var verdict: Verdict?
        var recognised = true
        func ports(_ value: Any?) -> PortSet? {
            if let number = value as? Int { return PortSet(UInt16(clamping: number)) }
            if let range = (value as? [String: Any])?["range"] as? [Int], range.count == 2 {
                return PortSet([PortRange(UInt16(clamping: range[0]), UInt16(clamping: range[1]))])
            }
            if let list = (value as? [String: Any])?["set"] as? [Any] {
                let singles = list.compactMap { $0 as? Int }
                guard singles.count == list.count else { return nil }
                return PortSet(singles.map { PortRange(UInt16(clamping: $0)) })
            }
            return nil
        }
        for expression in expressions {
            guard let object = expression as? [String: Any] else { recognised = false; break }
            if object.keys.contains("accept") { verdict = .accept; continue }
            if object.keys.contains("drop") { verdict = .drop; continue }
            if let helper = object["ct helper"] as? String, let value = ConntrackHelper(rawValue: helper) { rule.helper = value; continue }
            guard let match = object["match"] as? [String: Any], let left = match["left"] as? [String: Any] else { recognised = false; break }
            let op = match["op"] as? String ?? "=="
            let right = match["right"]
            if let meta = left["meta"] as? [String: Any], op == "==" {
                switch meta["key"] as? String {
                case "iif": rule.iif = right as? String
                case "oif": rule.oif = right as? String
                case "iifname": rule.iifname = right as? String
                case "oifname": rule.oifname = right as? String
                case "nfproto":
                    switch right as? String {
                    case "ipv4": rule.family = .ipv4
                    case "ipv6": rule.family = .ipv6
                    default: recognised = false
                    }
                case "l4proto":
                    switch right as? String {
                    case "tcp": rule.transport = .tcp
                    case "udp": rule.transport = .udp
                    default: recognised = false
                    }
                default: recognised = false
                }
            } else if let ct = left["ct"] as? [String: Any], ct["key"] as? String == "state", op == "in" || op == "==" {
                let names = (right as? [String]) ?? ((right as? String).map { [$0] } ?? [])
                let states = names.compactMap(CtState.init(rawValue:))
                guard states.count == names.count else { recognised = false; break }
                rule.ctState = CtState.bitOrder.filter(states.contains)
            } else if let payload = left["payload"] as? [String: Any], op == "==" {
                let proto = payload["protocol"] as? String, field = payload["field"] as? String
                switch (proto, field) {
                case ("ip", "saddr"), ("ip", "daddr"), ("ip6", "saddr"), ("ip6", "daddr"):
                    rule.family = proto == "ip" ? .ipv4 : .ipv6
                    let match: AddressMatch
                    if let text = right as? String, text.hasPrefix("@") { match = .set(String(text.dropFirst())) }
                    else if let text = right as? String, let address = IPAddress(text) { match = .addresses([address]) }
                    else { recognised = false; break }
                    if field == "saddr" { rule.saddr = match } else { rule.daddr = match }
                case ("tcp", "sport"), ("tcp", "dport"), ("udp", "sport"), ("udp", "dport"):
                    rule.transport = proto == "tcp" ? .tcp : .udp
                    guard let value = ports(right) else { recognised = false; break }
                    if field == "sport" { rule.sport = value } else { rule.dport = value }
                case ("icmpv6", "type"):
                    let names = ((right as? [String: Any])?["set"] as? [String]) ?? ((right as? String).map { [$0] } ?? [])
                    let known = names.compactMap { name in NetlinkConstants.icmpv6Types[name].map { (name, $0) } }
                    guard known.count == names.count else { recognised = false; break }
                    rule.icmpv6Types = known.sorted { $0.1 < $1.1 }.map(\.0)
                    rule.family = .ipv6
                case ("ip6", "hoplimit") where right as? Int == 255 && rule.icmpv6Types != nil:
                    break
                default: recognised = false
                }
            } else {
                recognised = false
            }
            if !recognised { break }
        }
        if !recognised || verdict == nil {
            var foreign = Rule(verdict: verdict ?? .accept)
            foreign.comment = comment
            let data = (try? JSONSerialization.data(withJSONObject: expressions, options: [.sortedKeys])) ?? Data()
            foreign.foreign = String(decoding: data, as: UTF8.self)
            return foreign
        }
        rule.verdict = verdict!
        return rule
    }
}

import CNftnl
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads sitewall's table back from the kernel through the shim and decodes it into a policy.
public enum NetlinkReadback {
    public static func read(socket: NetlinkSocket, target: Target, site: String, table: String = Table.defaultName) throws -> RunningState {
        let snapshot = try socket.consistentSnapshot(table: table).bytes
        let allChains = try socket.dumpAll()
        let objects = describe(snapshot)
        var state = decode(objects, target: target, site: site, table: table)
        // NFT_TABLE_F_DORMANT (1): the table's chains are not hooked, nothing is filtered.
        if let flags = objects.first(where: { $0.kind == "table" })?["flags"].flatMap({ Int($0) }), flags != 0 {
            state.tableFlags = flags & 1 != 0 ? ["dormant"] : []
            if flags & ~1 != 0 { state.tableFlags.append("flags \(flags & ~1)") }
        }
        state.otherChains = otherChains(describe(allChains), table: table)
        return state
    }

    static func describe(_ dump: [UInt8]) -> [DescribedObject] {
        guard !dump.isEmpty else { return [] }
        var text: UnsafeMutablePointer<CChar>?
        let status = dump.withUnsafeBufferPointer { CNftnl_describe($0.baseAddress, $0.count, &text) }
        guard status == 0, let text else { return [] }
        defer { CNftnl_free(text) }
        return String(cString: text).split(separator: "\n").map(DescribedObject.init)
    }

    static func setFlagNames(_ flags: Int) -> String {
        let names = [(1, "anonymous"), (2, "constant"), (4, "interval"), (8, "map"), (16, "timeout"), (32, "dynamic"),
                     (64, "object"), (128, "concat")]
        let known = names.filter { flags & $0.0 != 0 }.map(\.1)
        let rest = flags & ~0xff
        return (known + (rest != 0 ? ["0x" + String(rest, radix: 16)] : [])).joined(separator: ", ")
    }

    static let families: [String: String] = ["1": "inet", "2": "ip", "10": "ip6", "7": "bridge", "3": "arp", "5": "netdev"]

    /// The base chains of every other table, with what their table's rules can do to traffic.
    static func otherChains(_ objects: [DescribedObject], table: String) -> [RunningState.OtherChain] {
        func familyName(_ number: String?) -> String { families[number ?? ""] ?? "family \(number ?? "?")" }
        var effects: [String: Set<String>] = [:]  // "family table" -> what its rules can do
        var currentTable: String?
        for object in objects {
            if object.kind == "rule" {
                currentTable = familyName(object["family"]) + " " + (object["table"] ?? "?")
            } else if object.kind == "expr", let key = currentTable, let effect = effect(of: object) {
                effects[key, default: []].insert(effect)
            } else if object.kind != "expr" {
                currentTable = nil
            }
        }
        return objects.compactMap { object in
            guard object.kind == "chain", let number = object["hook"].flatMap({ Int($0) }) else { return nil }
            let family = familyName(object["family"])
            if family == "inet" && object["table"] == table { return nil }
            let policy = object["policy"] == "0" ? "drop" : "accept"
            var chain = RunningState.OtherChain(family: family, table: object["table"] ?? "?", chain: object["name"] ?? "?",
                                                hook: RunningState.OtherChain.hookName(family: family, number: number),
                                                priority: Int(object["prio"] ?? "") ?? 0, policy: policy)
            chain.addEffects(of: effects[family + " " + chain.table] ?? [])
            return chain
        }
    }

    /// What one expression of another table's rule can do to a packet sitewall filters, if anything.
    static func effect(of expression: DescribedObject) -> String? {
        switch expression["name"] {
        case "immediate": return expression["verdict"] == "0" ? "drop" : nil
        case "reject": return "reject"
        case "nat": return "nat"
        case "masq": return "masquerade"
        case "redir": return "redirect"
        case "notrack": return "notrack"
        case "queue": return "queue"
        case "tproxy": return "tproxy"
        default: return nil
        }
    }

    /// Rebuilds the policy from described objects.
    static func decode(_ objects: [DescribedObject], target: Target, site: String, table name: String) -> RunningState {
        guard objects.contains(where: { $0.kind == "table" }) else { return RunningState(policy: nil) }
        var table = Table()
        table.name = name
        var state = RunningState(policy: nil)
        var anonymous: [String: [[UInt8]]] = [:]
        var setTypes: [String: String] = [:]
        var elements: [String: [[UInt8]]] = [:]
        var setComments: [String: String] = [:]
        for object in objects {
            switch object.kind {
            case "obj":
                if object["type"] == "3", let helper = ConntrackHelper(rawValue: object["helper"] ?? "") { table.helpers.append(helper) }
            case "set":
                let setName = object["name"] ?? ""
                let flags = Int(object["flags"] ?? "0") ?? 0
                // sitewall's named sets have no flags: an interval, timeout or map set is not one of its own.
                if flags & 1 == 0 && flags != 0 {
                    state.foreignSets.append("set \(setName) (flags \(NetlinkReadback.setFlagNames(flags)), which sitewall never sets)")
                    continue
                }
                setTypes[setName] = object["keytype"]
                if let comment = object["comment"] { setComments[setName] = String(decoding: comment.hexBytes, as: UTF8.self) }
                // An anonymous interval set (nft's "{ 502, 1000-2000 }") is left out: the rule that looks it
                // up is then foreign, rather than read as the starts of its ranges.
                if flags & 1 != 0 && flags & 4 == 0 { anonymous[setName] = [] }
            case "elem":
                let setName = object["set"] ?? ""
                if object["flags"].map({ (Int($0) ?? 0) & 1 != 0 }) ?? false { continue }  // interval end markers
                let key = (object["key"] ?? "").hexBytes
                if anonymous[setName] != nil { anonymous[setName]!.append(key) } else { elements[setName, default: []].append(key) }
            default: break
            }
        }
        for (setName, type) in setTypes.sorted(by: { $0.key < $1.key }) where anonymous[setName] == nil {
            let family: IPFamily
            switch type {
            case "7": family = .ipv4
            case "8": family = .ipv6
            default:
                state.foreignSets.append("set \(setName) (a key type sitewall does not use)")
                continue
            }
            let addresses = (elements[setName] ?? []).compactMap { bytes -> IPAddress? in
                guard bytes.count == (family == .ipv4 ? 4 : 16) else { return nil }
                return IPAddress(family: family, value: bytes.reduce(UInt128(0)) { ($0 << 8) | UInt128($1) })
            }.sorted()
            table.sets.append(AddressSet(name: setName, family: family, elements: addresses, comment: setComments[setName]))
        }
        // Chains in dump order; rules follow their chain.
        var chainOrder: [String] = []
        var chains: [String: Chain] = [:]
        var currentRule: (chain: String, comment: String?, expressions: [DescribedObject])?
        func flush() {
            guard let rule = currentRule else { return }
            chains[rule.chain]?.rules.append(RuleDecoder.decode(rule.expressions, comment: rule.comment, anonymous: anonymous))
            currentRule = nil
        }
        for object in objects {
            switch object.kind {
            case "chain":
                flush()
                let chainName = object["name"] ?? "?"
                guard let hook = Int(object["hook"] ?? "").flatMap(Hook.init(number:)) else {
                    state.extraChains.append(chainName)
                    continue
                }
                chainOrder.append(chainName)
                chains[chainName] = Chain(name: chainName, hook: hook, priority: Int(object["prio"] ?? "") ?? 0,
                                          policy: object["policy"] == "1" ? .accept : .drop, rules: [])
            case "rule":
                flush()
                currentRule = (object["chain"] ?? "?", object["comment"].map { String(decoding: $0.hexBytes, as: UTF8.self) }, [])
            case "expr":
                currentRule?.expressions.append(object)
            default: break
            }
        }
        flush()
        table.chains = chainOrder.compactMap { chains[$0] }
        state.policy = Policy(site: site, target: target, table: table)
        return state
    }
}

/// One line of the shim's description: a kind and key=value fields.
struct DescribedObject {
    var kind: String
    var fields: [String: String]

    init(_ line: Substring) {
        let parts = line.split(separator: "\t")
        kind = parts.first.map(String.init) ?? ""
        var fields: [String: String] = [:]
        for part in parts.dropFirst() {
            guard let equals = part.firstIndex(of: "=") else { continue }
            fields[String(part[..<equals])] = String(part[part.index(after: equals)...])
        }
        self.fields = fields
    }

    subscript(_ key: String) -> String? { fields[key] }
}

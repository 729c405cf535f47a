import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Turns the expressions of a dumped rule back into a Rule, recognising exactly the shapes the
/// netlink encoder (and nft, for the same script) writes. A rule with anything else keeps its
/// expressions as text in `foreign`, so that the diff reports it rather than drop it.
enum RuleDecoder {
    static func decode(_ expressions: [DescribedObject], comment: String?, anonymous: [String: [[UInt8]]]) -> Rule {
        var rule = Rule(verdict: .accept)
        rule.comment = comment
        var verdict: Verdict?
        var l4proto: UInt8?
        var i = 0
        func field(_ at: Int, _ key: String) -> String? { at < expressions.count ? expressions[at][key] : nil }
        func name(_ at: Int) -> String? { at < expressions.count ? expressions[at].kind == "expr" ? expressions[at]["name"] : nil : nil }
        func data(_ at: Int) -> [UInt8] { (field(at, "data") ?? "").hexBytes }
        func isCmp(_ at: Int, op: String) -> Bool { name(at) == "cmp" && field(at, "op") == op }
        // A set lookup as sitewall writes it: not inverted (no flags), not a map (no destination register).
        func isPlainLookup(_ at: Int) -> Bool { name(at) == "lookup" && field(at, "flags") ?? "0" == "0" && field(at, "dreg") == nil }
        func port(_ bytes: [UInt8]) -> UInt16 { bytes.count == 2 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : 0 }
        func address(_ bytes: [UInt8]) -> IPAddress? {
            guard bytes.count == 4 || bytes.count == 16 else { return nil }
            return IPAddress(family: bytes.count == 4 ? .ipv4 : .ipv6, value: bytes.reduce(UInt128(0)) { ($0 << 8) | UInt128($1) })
        }

        var recognised = true
        while i < expressions.count && recognised {
            switch name(i) {
            case "meta" where field(i, "dreg") != nil && isCmp(i + 1, op: "0"):
                let value = data(i + 1)
                switch field(i, "key") {
                case "4", "5":
                    var buffer = [CChar](repeating: 0, count: 16)
                    let index = value.count == 4 ? UInt32(value[0]) | UInt32(value[1]) << 8 | UInt32(value[2]) << 16 | UInt32(value[3]) << 24 : 0
                    let text = if_indextoname(index, &buffer) != nil ? String(cString: buffer) : "#\(index)"
                    if field(i, "key") == "4" { rule.iif = text } else { rule.oif = text }
                case "6", "7":
                    // A name without its NUL (shorter than IFNAMSIZ) is a prefix match: nft's "eth2*".
                    let prefix = !value.contains(0)
                    let text = String(decoding: value.prefix { $0 != 0 }, as: UTF8.self) + (prefix ? "*" : "")
                    if field(i, "key") == "6" { rule.iifname = text } else { rule.oifname = text }
                case "15":
                    if value == [2] { rule.family = .ipv4 } else if value == [10] { rule.family = .ipv6 } else { recognised = false }
                case "16":
                    l4proto = value.first
                    switch l4proto {
                    case 6: rule.transport = .tcp
                    case 17: rule.transport = .udp
                    case 58: break
                    default: recognised = false
                    }
                default: recognised = false
                }
                i += 2
            case "payload" where field(i, "dreg") != nil:
                let base = field(i, "base"), offset = field(i, "offset"), length = field(i, "len")
                // An address is read only after the family check that gives its offsets their meaning
                // (nft and sitewall both write one); a raw network-header match without it is foreign.
                let addressAt = rule.family == .ipv4 ? (length == "4" && ["12", "16"].contains(offset ?? ""))
                    : rule.family == .ipv6 ? (length == "16" && ["8", "24"].contains(offset ?? "")) : false
                if base == "1", addressAt {
                    let isSource = offset == "12" || offset == "8"
                    let match: AddressMatch
                    if isPlainLookup(i + 1), let set = field(i + 1, "set") {
                        match = .set(set)
                    } else if isCmp(i + 1, op: "0"), let value = address(data(i + 1)) {
                        match = .addresses([value])
                    } else { recognised = false; break }
                    if isSource { rule.saddr = match } else { rule.daddr = match }
                    i += 2
                } else if base == "1", offset == "7", length == "1", isCmp(i + 1, op: "0"), data(i + 1) == [255], rule.icmpv6Types != nil {
                    i += 2  // ip6 hoplimit 255, part of the neighbour-discovery rule
                } else if base == "2", offset == "0", length == "4", isCmp(i + 1, op: "0"), data(i + 1).count == 4 {
                    let value = data(i + 1)
                    rule.sport = PortSet(port(Array(value[0..<2])))
                    rule.dport = PortSet(port(Array(value[2..<4])))
                    i += 2
                } else if base == "2", offset == "0", length == "1", l4proto == 58, name(i + 1) == "lookup",
                          field(i + 1, "flags") ?? "0" == "0", let set = field(i + 1, "set"), let keys = anonymous[set] {
                    let names = Dictionary(uniqueKeysWithValues: NetlinkConstants.icmpv6Types.map { ($0.value, $0.key) })
                    let types = keys.compactMap { $0.first.flatMap { names[$0] } }
                    guard types.count == keys.count else { recognised = false; break }
                    // nft writes the set in its own order; keep the encoder's (by type number).
                    rule.icmpv6Types = keys.compactMap(\.first).sorted().compactMap { names[$0] }
                    rule.family = .ipv6
                    i += 2
                } else if base == "2", offset == "0" || offset == "2", length == "2" {
                    let ports: PortSet
                    if isCmp(i + 1, op: "0") {
                        ports = PortSet(port(data(i + 1)))
                        i += 2
                    } else if isCmp(i + 1, op: "5"), isCmp(i + 2, op: "3") {
                        ports = PortSet([PortRange(port(data(i + 1)), port(data(i + 2)))])
                        i += 3
                    } else if isPlainLookup(i + 1), let set = field(i + 1, "set"), let keys = anonymous[set] {
                        ports = PortSet(keys.map { PortRange(port($0)) })
                        i += 2
                    } else { recognised = false; break }
                    if offset == "0" { rule.sport = ports } else { rule.dport = ports }
                } else { recognised = false }
            case "ct" where field(i, "key") == "0" && field(i, "dreg") != nil:
                guard name(i + 1) == "bitwise", let mask = field(i + 1, "mask")?.hexBytes, mask.count == 4,
                      (field(i + 1, "xor") ?? "00000000").hexBytes == [0, 0, 0, 0], isCmp(i + 2, op: "1"), data(i + 2) == [0, 0, 0, 0] else {
                    recognised = false
                    break
                }
                let bits = UInt32(mask[0]) | UInt32(mask[1]) << 8 | UInt32(mask[2]) << 16 | UInt32(mask[3]) << 24
                rule.ctState = CtState.bitOrder.filter { (NetlinkConstants.ctStateBits[$0] ?? 0) & bits != 0 }
                i += 3
            case "objref" where field(i, "type") == "3":
                guard let helper = ConntrackHelper(rawValue: field(i, "object") ?? "") else { recognised = false; break }
                rule.helper = helper
                i += 1
            case "immediate" where field(i, "dreg") == "0" && i == expressions.count - 1:
                switch field(i, "verdict") {
                case "1": verdict = .accept
                case "0": verdict = .drop
                default: recognised = false
                }
                i += 1
            default:
                recognised = false
            }
        }
        if !recognised || verdict == nil {
            var foreign = Rule(verdict: verdict ?? .accept)
            foreign.comment = comment
            foreign.foreign = expressions.map { expression -> String in
                let name = expression["name"] ?? "?"
                let text = String(decoding: (expression["text"] ?? "").hexBytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                return "[ " + (text.hasPrefix(name) ? text : "\(name) \(text)") + " ]"
            }.joined(separator: " ")
            return foreign
        }
        rule.verdict = verdict!
        return rule
    }
}

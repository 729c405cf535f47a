import CNftnl
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Translates a policy into nf_tables objects and expressions, the same ones nft generates for
/// the nft backend's script (so that both list alike), and adds them to a batch.
public enum NetlinkEncoder {
    public struct Unsupported: Error, CustomStringConvertible {
        public var rule: String
        public var reason: String
        public var description: String { "the netlink backend cannot encode \(reason) (rule: \(rule))" }
    }

    /// Adds "create table; delete table; define table" for `policy`: one transaction replaces
    /// sitewall's table whole and never names another.
    static func encode(_ policy: Policy, into batch: NetlinkBatch) throws {
        let table = policy.table
        batch.addTable(table.name)
        batch.deleteTable(table.name)
        batch.addTable(table.name)
        for helper in table.helpers { batch.addHelper(table: table.name, helper) }
        for set in table.sets {
            batch.addSet(table: table.name, name: set.name, anonymous: false,
                         keyType: set.family == .ipv4 ? NetlinkConstants.typeIPv4Address : NetlinkConstants.typeIPv6Address,
                         keyLength: set.family == .ipv4 ? 4 : 16, keys: set.elements.map(addressBytes), comment: set.comment)
        }
        for chain in table.chains { batch.addChain(table: table.name, chain) }
        for chain in table.chains {
            for (index, rule) in chain.rules.enumerated() {
                let description = "rule \(index + 1) of chain \(chain.name)" + (rule.comment.map { " (\($0))" } ?? "")
                do {
                    try encode(rule, table: table.name, chain: chain.name, into: batch, description: description)
                } catch let failure as EncodingFailure {
                    throw NetlinkError(operation: "encoding table inet \(table.name)",
                                       refusals: [.init(object: description, errno: failure.code)])
                }
            }
        }
        try batch.checkEncoded()
    }

    static func addressBytes(_ address: IPAddress) -> [UInt8] {
        let count = address.family == .ipv4 ? 4 : 16
        return (0..<count).map { UInt8(truncatingIfNeeded: address.value >> UInt128(8 * (count - 1 - $0))) }
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }

    static func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    static func cmp(_ rule: OpaquePointer, _ op: UInt32, _ data: [UInt8]) throws {
        try check(data.withUnsafeBytes { CNftnl_rule_cmp(rule, NetlinkConstants.reg1, op, $0.baseAddress, UInt32(data.count)) })
    }

    /// A libnftnl call that failed while a rule was built (the rule is named where it is caught).
    struct EncodingFailure: Error { var code: Int32 }

    static func check(_ status: Int32) throws {
        if status != 0 { throw EncodingFailure(code: status < 0 ? -status : status) }
    }

    static func ifname(_ name: String) -> [UInt8] {
        var bytes = Array(name.utf8.prefix(15))
        bytes += [UInt8](repeating: 0, count: 16 - bytes.count)
        return bytes
    }

    static func encode(_ rule: Rule, table: String, chain: String, into batch: NetlinkBatch, description: String) throws {
        guard let r = CNftnl_rule_new(NetlinkConstants.familyInet, table, chain) else { throw NetlinkError.system("allocating a rule", ENOMEM) }
        var added = false
        defer { if !added { CNftnl_rule_free(r) } }
        let reg = NetlinkConstants.reg1

        for (key, name) in [(NetlinkConstants.metaIif, rule.iif), (NetlinkConstants.metaOif, rule.oif)] {
            guard let name else { continue }
            // nft resolves an interface name to its index when the rule is loaded.
            let index = if_nametoindex(name)
            guard index != 0 else { throw Unsupported(rule: description, reason: "interface '\(name)', which does not exist here") }
            try check(CNftnl_rule_meta(r, key, reg))
            try cmp(r, NetlinkConstants.cmpEq, u32(index))
        }
        for (key, name) in [(NetlinkConstants.metaIifname, rule.iifname), (NetlinkConstants.metaOifname, rule.oifname)] {
            guard let name else { continue }
            try check(CNftnl_rule_meta(r, key, reg))
            try cmp(r, NetlinkConstants.cmpEq, ifname(name))
        }

        let family = rule.family
        var familyChecked = false
        func checkFamily(_ family: IPFamily) throws {
            guard !familyChecked else { return }
            familyChecked = true
            try check(CNftnl_rule_meta(r, NetlinkConstants.metaNfproto, reg))
            try cmp(r, NetlinkConstants.cmpEq, [family == .ipv4 ? NetlinkConstants.nfprotoIPv4 : NetlinkConstants.nfprotoIPv6])
        }
        for (match, offset4, offset6) in [(rule.saddr, UInt32(12), UInt32(8)), (rule.daddr, UInt32(16), UInt32(24))] {
            guard let match else { continue }
            guard let family else { throw Unsupported(rule: description, reason: "an address match without a family") }
            try checkFamily(family)
            let length: UInt32 = family == .ipv4 ? 4 : 16
            try check(CNftnl_rule_payload(r, NetlinkConstants.payloadNetwork, family == .ipv4 ? offset4 : offset6, length, reg))
            switch match {
            case let .set(name): try check(CNftnl_rule_lookup(r, reg, name, 0))
            case let .addresses(list):
                guard list.count == 1 else { throw Unsupported(rule: description, reason: "an inline list of addresses") }
                try cmp(r, NetlinkConstants.cmpEq, addressBytes(list[0]))
            }
        }
        if let family, rule.saddr == nil, rule.daddr == nil, rule.icmpv6Types == nil { try checkFamily(family) }

        if let transport = rule.transport {
            try check(CNftnl_rule_meta(r, NetlinkConstants.metaL4proto, reg))
            try cmp(r, NetlinkConstants.cmpEq, [transport == .tcp ? NetlinkConstants.protoTCP : NetlinkConstants.protoUDP])
            if let sport = rule.sport, let dport = rule.dport, sport.isSinglePort, dport.isSinglePort {
                // nft merges two adjacent exact port matches into one 4-byte load.
                try check(CNftnl_rule_payload(r, NetlinkConstants.payloadTransport, 0, 4, reg))
                try cmp(r, NetlinkConstants.cmpEq, be16(sport.ranges[0].lower) + be16(dport.ranges[0].lower))
            } else {
                for (ports, offset) in [(rule.sport, UInt32(0)), (rule.dport, UInt32(2))] {
                    guard let ports else { continue }
                    try check(CNftnl_rule_payload(r, NetlinkConstants.payloadTransport, offset, 2, reg))
                    try matchPorts(ports, rule: r, table: table, batch: batch, description: description)
                }
            }
        }

        if let types = rule.icmpv6Types {
            try checkFamily(.ipv6)
            try check(CNftnl_rule_meta(r, NetlinkConstants.metaL4proto, reg))
            try cmp(r, NetlinkConstants.cmpEq, [NetlinkConstants.protoICMPv6])
            try check(CNftnl_rule_payload(r, NetlinkConstants.payloadTransport, 0, 1, reg))
            let keys = try types.map { name -> [UInt8] in
                guard let type = NetlinkConstants.icmpv6Types[name] else { throw Unsupported(rule: description, reason: "ICMPv6 type \(name)") }
                return [type]
            }
            let id = batch.addSet(table: table, name: "__set%d", anonymous: true, keyType: NetlinkConstants.typeICMPv6Type,
                                  keyLength: 1, keys: keys, comment: nil)
            try check(CNftnl_rule_lookup(r, reg, "__set%d", id))
            // ip6 hoplimit 255: only on-link senders.
            try check(CNftnl_rule_payload(r, NetlinkConstants.payloadNetwork, 7, 1, reg))
            try cmp(r, NetlinkConstants.cmpEq, [255])
        }

        if let states = rule.ctState {
            try check(CNftnl_rule_ct(r, NetlinkConstants.ctState, reg))
            let mask = states.reduce(UInt32(0)) { $0 | (NetlinkConstants.ctStateBits[$1] ?? 0) }
            let maskBytes = u32(mask), zero = u32(0)
            try check(maskBytes.withUnsafeBytes { m in zero.withUnsafeBytes { x in CNftnl_rule_bitwise(r, reg, 4, m.baseAddress, x.baseAddress) } })
            try cmp(r, NetlinkConstants.cmpNeq, zero)
        }
        if let helper = rule.helper { try check(CNftnl_rule_objref(r, NetlinkConstants.objectCtHelper, helper.rawValue)) }
        try check(CNftnl_rule_verdict(r, rule.verdict == .accept ? NetlinkConstants.accept : NetlinkConstants.drop))
        if let comment = rule.comment, !comment.isEmpty { try check(CNftnl_rule_comment(r, RuleComment.clip(comment))) }
        added = true
        batch.addRule(r, description: description)
    }

    /// One port, a range (gte/lte), or a list (an anonymous set), as nft writes them.
    static func matchPorts(_ ports: PortSet, rule r: OpaquePointer, table: String, batch: NetlinkBatch, description: String) throws {
        if ports.ranges.count == 1 {
            let range = ports.ranges[0]
            if range.isSingle {
                try cmp(r, NetlinkConstants.cmpEq, be16(range.lower))
            } else {
                try cmp(r, NetlinkConstants.cmpGte, be16(range.lower))
                try cmp(r, NetlinkConstants.cmpLte, be16(range.upper))
            }
            return
        }
        guard ports.ranges.allSatisfy(\.isSingle) else {
            throw Unsupported(rule: description, reason: "a list of port ranges (\(ports)); use --target nft")
        }
        let id = batch.addSet(table: table, name: "__set%d", anonymous: true, keyType: NetlinkConstants.typeInetService,
                              keyLength: 2, keys: ports.ranges.map { be16($0.lower) }, comment: nil)
        try check(CNftnl_rule_lookup(r, NetlinkConstants.reg1, "__set%d", id))
    }
}

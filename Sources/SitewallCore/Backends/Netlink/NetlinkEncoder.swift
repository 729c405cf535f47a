import CNftnl
import Foundation

/// Translates a policy into nf_tables objects, the same ones nft generates for the nft backend's
/// script (so that both list alike), and adds them to a batch. Each rule's expressions come from
/// its match kinds (`RuleSpelling`); this file only puts them into libnftnl objects.
public enum NetlinkEncoder {
    public struct Unsupported: Error, CustomStringConvertible {
        public var rule: String
        public var reason: String
        public var description: String { "the netlink backend cannot encode \(reason) (rule: \(rule))" }
    }

    /// Adds "create table; delete table; define table" for `policy`: one transaction replaces
    /// sitewall's table whole and never names another.
    /// `counters` are the values named counters start from (the running table's, carried over); the
    /// others start at zero.
    static func encode(_ policy: Policy, into batch: NetlinkBatch, counters: [String: CounterValue] = [:]) throws {
        let table = policy.table
        batch.addTable(table.name)
        batch.deleteTable(table.name)
        batch.addTable(table.name)
        for helper in table.helpers { batch.addHelper(table: table.name, helper) }
        for name in table.counters ?? [] {
            batch.addCounter(table: table.name, name: name, value: counters[name] ?? CounterValue())
        }
        for set in table.sets {
            batch.addSet(
                table: table.name, name: set.name, flags: AddressSetElements.kernelFlags,
                keyType: set.family == .ipv4 ? AddressSetSpelling.ipv4Type : AddressSetSpelling.ipv6Type,
                keyLength: set.family == .ipv4 ? 4 : 16,
                elements: AddressSetElements.netlink(set.elements), comment: set.comment)
        }
        for chain in table.chains { batch.addChain(table: table.name, chain) }
        for chain in table.chains {
            for (index, rule) in chain.rules.enumerated() {
                let description = "rule \(index + 1) of chain \(chain.name)" + (rule.comment.map { " (\($0))" } ?? "")
                do {
                    try encode(rule, table: table.name, chain: chain.name, into: batch, description: description)
                } catch let unsupported as UnsupportedConstruct {
                    throw Unsupported(rule: description, reason: unsupported.reason)
                } catch let failure as NftnlError {
                    throw NetlinkError(
                        operation: "encoding table inet \(table.name)",
                        refusals: [.init(object: description, errno: failure.errno)])
                }
            }
        }
        try batch.checkEncoded()
    }

    static func encode(_ rule: Rule, table: String, chain: String, into batch: NetlinkBatch, description: String) throws
    {
        let expressions = try RuleSpelling.netlink(rule)
        let r = try Nftnl.make("nftnl_rule_alloc", description) { nftnl_rule_alloc() }
        defer { nftnl_rule_free(r) }
        try Nftnl.check("nftnl_rule_set_str(table)", description) {
            nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table)
        }
        try Nftnl.check("nftnl_rule_set_str(chain)", description) {
            nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
        }
        var family = UInt32(NFPROTO_INET)
        try Nftnl.check("nftnl_rule_set_data(family)", description) {
            nftnl_rule_set_data(r, UInt16(NFTNL_RULE_FAMILY.rawValue), &family, 4)
        }
        for expression in expressions {
            try expression.add(to: r, object: description) { set in
                guard set.plainKeys != nil else {
                    throw UnsupportedConstruct(reason: "an anonymous set with interval or flagged elements")
                }
                let id = batch.addSet(
                    table: table, name: "__set%d", flags: set.flags, keyType: set.keyType,
                    keyLength: Int(set.keyLength), elements: set.elements, comment: nil, keyTypeof: set.keyTypeof)
                return ("__set%d", id)
            }
        }
        if let comment = rule.comment, !comment.isEmpty {
            try setComment(RuleComment.clip(comment), on: r, object: description)
        }
        batch.addRule(r, description: description)
    }

    /// A rule's comment, in the user data nft keeps it in.
    static func setComment(_ comment: String, on rule: OpaquePointer, object: String) throws {
        let buffer = try Nftnl.make("nftnl_udata_buf_alloc", object) {
            nftnl_udata_buf_alloc(UInt32(NFT_USERDATA_MAXLEN))
        }
        defer { nftnl_udata_buf_free(buffer) }
        guard nftnl_udata_put_strz(buffer, UInt8(NFTNL_UDATA_RULE_COMMENT.rawValue), comment) else {
            throw NftnlError(call: "nftnl_udata_put_strz", object: object, errno: EINVAL)
        }
        try Nftnl.check("nftnl_rule_set_data(userdata)", object) {
            nftnl_rule_set_data(
                rule, UInt16(NFTNL_RULE_USERDATA.rawValue), nftnl_udata_buf_data(buffer),
                nftnl_udata_buf_len(buffer))
        }
    }
}

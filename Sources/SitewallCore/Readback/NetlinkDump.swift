import CNftnl
import Foundation

/// The objects of an nf_tables dump (raw netlink messages), read with libnftnl's parsers and
/// getters. Every attribute sitewall never sets is noted, so that the readback can tell an object
/// it wrote from one that only looks alike.
struct NetlinkDump {
    struct Table {
        var family: UInt32, name: String, flags: UInt32
    }

    struct Chain {
        var family: UInt32, table: String, name: String
        var hook: UInt32?, priority: Int32, policy: UInt32, type: String?
        /// Attributes sitewall never sets on a chain (a device, flags), described.
        var unusual: [String]
    }

    struct Element {
        var key: [UInt8], flags: UInt32
        /// Element attributes other than the key and flags (a timeout, an end key, data, statements).
        var unusual: Bool
    }

    struct Set {
        var table: String, name: String, flags: UInt32, keyType: UInt32, keyLength: UInt32
        var comment: String?
        /// Set attributes sitewall never sets (data type, timeout, gc interval, statements).
        var unusual: [String]
        var elements: [Element] = []
    }

    struct Object {
        var table: String, name: String, type: UInt32, helper: String?, l4proto: UInt8?
        var counter: CounterValue? = nil
    }

    struct Rule {
        var family: UInt32, table: String, chain: String, handle: UInt64, comment: String?
        var expressions: [NetlinkExpression]
        /// The name of each expression ("meta", "reject", ...) and libnftnl's rendering of it.
        var names: [String], texts: [String]
    }

    var tables: [Table] = []
    var chains: [Chain] = []
    var sets: [Set] = []
    var objects: [Object] = []
    var rules: [Rule] = []

    init(_ bytes: [UInt8]) throws {
        try NetlinkMessages.forEach(bytes) { try read($0) }
        // Elements arrive in messages of their own; anonymous sets are resolved in rules by content.
        let anonymous = Dictionary(
            sets.filter { $0.flags & NFT_SET_ANONYMOUS.rawValue != 0 }
                .map { ("\($0.table)\u{0}\($0.name)", $0) }, uniquingKeysWith: { first, _ in first })
        for index in rules.indices {
            let table = rules[index].table
            rules[index].expressions = rules[index].expressions.map { expression in
                guard case .lookup(let sreg, .named(let name), let flags) = expression,
                    let set = anonymous["\(table)\u{0}\(name)"]
                else { return expression }
                let contents = AnonymousSet(
                    keyType: set.keyType, keyLength: set.keyLength, flags: set.flags,
                    elements: set.elements.map {
                        AnonymousSet.Element(key: $0.key, flags: $0.flags | ($0.unusual ? 1 << 31 : 0))
                    })
                return .lookup(sreg: sreg, set: .anonymous(contents), flags: flags)
            }
        }
    }

    private mutating func read(_ message: UnsafePointer<nlmsghdr>) throws {
        switch NetlinkMessages.type(message) {
        case NFT_MSG_NEWTABLE.rawValue:
            let t = try Nftnl.make("nftnl_table_alloc", "a table") { nftnl_table_alloc() }
            defer { nftnl_table_free(t) }
            try Nftnl.check("nftnl_table_nlmsg_parse", "a table") { nftnl_table_nlmsg_parse(message, t) }
            tables.append(
                Table(
                    family: nftnl_table_get_u32(t, UInt16(NFTNL_TABLE_FAMILY.rawValue)),
                    name: Nftnl.text(nftnl_table_get_str(t, UInt16(NFTNL_TABLE_NAME.rawValue))),
                    flags: nftnl_table_get_u32(t, UInt16(NFTNL_TABLE_FLAGS.rawValue))))
        case NFT_MSG_NEWCHAIN.rawValue:
            let c = try Nftnl.make("nftnl_chain_alloc", "a chain") { nftnl_chain_alloc() }
            defer { nftnl_chain_free(c) }
            try Nftnl.check("nftnl_chain_nlmsg_parse", "a chain") { nftnl_chain_nlmsg_parse(message, c) }
            func has(_ attribute: nftnl_chain_attr) -> Bool { nftnl_chain_is_set(c, UInt16(attribute.rawValue)) }
            func string(_ attribute: nftnl_chain_attr) -> String? {
                has(attribute) ? nftnl_chain_get_str(c, UInt16(attribute.rawValue)).map { String(cString: $0) } : nil
            }
            var unusual: [String] = []
            if let device = string(NFTNL_CHAIN_DEV) { unusual.append("device \(device)") }
            if has(NFTNL_CHAIN_DEVICES) { unusual.append("devices") }
            // Every base chain is flagged as one; offload or binding flags are not sitewall's.
            let flags = has(NFTNL_CHAIN_FLAGS) ? nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_FLAGS.rawValue)) : 0
            if flags & ~NFT_CHAIN_BASE.rawValue != 0 { unusual.append("flags \(flags)") }
            chains.append(
                Chain(
                    family: nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_FAMILY.rawValue)),
                    table: string(NFTNL_CHAIN_TABLE) ?? "?", name: string(NFTNL_CHAIN_NAME) ?? "?",
                    hook: has(NFTNL_CHAIN_HOOKNUM) ? nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue)) : nil,
                    priority: nftnl_chain_get_s32(c, UInt16(NFTNL_CHAIN_PRIO.rawValue)),
                    policy: nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_POLICY.rawValue)),
                    type: string(NFTNL_CHAIN_TYPE), unusual: unusual))
        case NFT_MSG_NEWSET.rawValue:
            let s = try Nftnl.make("nftnl_set_alloc", "a set") { nftnl_set_alloc() }
            defer { nftnl_set_free(s) }
            try Nftnl.check("nftnl_set_nlmsg_parse", "a set") { nftnl_set_nlmsg_parse(message, s) }
            func has(_ attribute: nftnl_set_attr) -> Bool { nftnl_set_is_set(s, UInt16(attribute.rawValue)) }
            func u32(_ attribute: nftnl_set_attr) -> UInt32 { nftnl_set_get_u32(s, UInt16(attribute.rawValue)) }
            var unusual: [String] = []
            if has(NFTNL_SET_DATA_TYPE) { unusual.append("data of type \(u32(NFTNL_SET_DATA_TYPE))") }
            if has(NFTNL_SET_TIMEOUT), nftnl_set_get_u64(s, UInt16(NFTNL_SET_TIMEOUT.rawValue)) != 0 {
                unusual.append("a timeout")
            }
            if has(NFTNL_SET_GC_INTERVAL), u32(NFTNL_SET_GC_INTERVAL) != 0 { unusual.append("a gc interval") }
            if has(NFTNL_SET_EXPR) || has(NFTNL_SET_EXPRESSIONS) { unusual.append("statements on its elements") }
            if has(NFTNL_SET_OBJ_TYPE) { unusual.append("objects as data") }
            var comment: String?
            if has(NFTNL_SET_USERDATA) {
                var length: UInt32 = 0
                if let data = nftnl_set_get_data(s, UInt16(NFTNL_SET_USERDATA.rawValue), &length) {
                    comment = Self.userString(data, length, type: UInt8(NFTNL_UDATA_SET_COMMENT.rawValue))
                }
            }
            sets.append(
                Set(
                    table: Nftnl.text(nftnl_set_get_str(s, UInt16(NFTNL_SET_TABLE.rawValue))),
                    name: Nftnl.text(nftnl_set_get_str(s, UInt16(NFTNL_SET_NAME.rawValue))),
                    flags: u32(NFTNL_SET_FLAGS), keyType: u32(NFTNL_SET_KEY_TYPE),
                    keyLength: u32(NFTNL_SET_KEY_LEN), comment: comment, unusual: unusual))
        case NFT_MSG_NEWSETELEM.rawValue:
            let s = try Nftnl.make("nftnl_set_alloc", "set elements") { nftnl_set_alloc() }
            defer { nftnl_set_free(s) }
            try Nftnl.check("nftnl_set_elems_nlmsg_parse", "set elements") { nftnl_set_elems_nlmsg_parse(message, s) }
            let table = Nftnl.text(nftnl_set_get_str(s, UInt16(NFTNL_SET_TABLE.rawValue)))
            let name = Nftnl.text(nftnl_set_get_str(s, UInt16(NFTNL_SET_NAME.rawValue)))
            let iterator = try Nftnl.make("nftnl_set_elems_iter_create", "set \(name)") {
                nftnl_set_elems_iter_create(s)
            }
            defer { nftnl_set_elems_iter_destroy(iterator) }
            var elements: [Element] = []
            while let e = nftnl_set_elems_iter_next(iterator) {
                var length: UInt32 = 0
                let key =
                    nftnl_set_elem_get(e, UInt16(NFTNL_SET_ELEM_KEY), &length)
                    .map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) } ?? []
                let flags =
                    nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_FLAGS))
                    ? nftnl_set_elem_get_u32(e, UInt16(NFTNL_SET_ELEM_FLAGS)) : 0
                let others: [Int] = [
                    NFTNL_SET_ELEM_KEY_END, NFTNL_SET_ELEM_DATA, NFTNL_SET_ELEM_TIMEOUT, NFTNL_SET_ELEM_EXPIRATION,
                    NFTNL_SET_ELEM_EXPR, NFTNL_SET_ELEM_OBJREF, NFTNL_SET_ELEM_VERDICT,
                    NFTNL_SET_ELEM_CHAIN, NFTNL_SET_ELEM_EXPRESSIONS,
                ]
                // User data other than nft's mark of a range open to the end (a comment, say) is not sitewall's.
                var userdataLength: UInt32 = 0
                let userdata = nftnl_set_elem_get(e, UInt16(NFTNL_SET_ELEM_USERDATA), &userdataLength)
                    .map { Array(UnsafeRawBufferPointer(start: $0, count: Int(userdataLength))) }
                let unusual =
                    others.contains { nftnl_set_elem_is_set(e, UInt16($0)) }
                    || (userdata != nil && userdata != AddressSetElements.intervalOpenMark)
                elements.append(Element(key: key, flags: flags, unusual: unusual))
            }
            if let index = sets.lastIndex(where: { $0.table == table && $0.name == name }) {
                sets[index].elements += elements
            }
        case NFT_MSG_NEWOBJ.rawValue:
            let o = try Nftnl.make("nftnl_obj_alloc", "an object") { nftnl_obj_alloc() }
            defer { nftnl_obj_free(o) }
            try Nftnl.check("nftnl_obj_nlmsg_parse", "an object") { nftnl_obj_nlmsg_parse(message, o) }
            let type = nftnl_obj_get_u32(o, UInt16(NFTNL_OBJ_TYPE))
            let isHelper = type == UInt32(NFT_OBJECT_CT_HELPER)
            objects.append(
                Object(
                    table: Nftnl.text(nftnl_obj_get_str(o, UInt16(NFTNL_OBJ_TABLE))),
                    name: Nftnl.text(nftnl_obj_get_str(o, UInt16(NFTNL_OBJ_NAME))), type: type,
                    helper: isHelper
                        ? nftnl_obj_get_str(o, UInt16(NFTNL_OBJ_CT_HELPER_NAME)).map { String(cString: $0) } : nil,
                    l4proto: isHelper ? nftnl_obj_get_u8(o, UInt16(NFTNL_OBJ_CT_HELPER_L4PROTO)) : nil,
                    counter: type == UInt32(NFT_OBJECT_COUNTER)
                        ? CounterValue(
                            packets: nftnl_obj_get_u64(o, UInt16(NFTNL_OBJ_CTR_PKTS)),
                            bytes: nftnl_obj_get_u64(o, UInt16(NFTNL_OBJ_CTR_BYTES))) : nil))
        case NFT_MSG_NEWRULE.rawValue:
            let r = try Nftnl.make("nftnl_rule_alloc", "a rule") { nftnl_rule_alloc() }
            defer { nftnl_rule_free(r) }
            try Nftnl.check("nftnl_rule_nlmsg_parse", "a rule") { nftnl_rule_nlmsg_parse(message, r) }
            var comment: String?
            if nftnl_rule_is_set(r, UInt16(NFTNL_RULE_USERDATA.rawValue)) {
                var length: UInt32 = 0
                if let data = nftnl_rule_get_data(r, UInt16(NFTNL_RULE_USERDATA.rawValue), &length) {
                    comment = Self.userString(data, length, type: UInt8(NFTNL_UDATA_RULE_COMMENT.rawValue))
                }
            }
            var rule = Rule(
                family: nftnl_rule_get_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue)),
                table: Nftnl.text(nftnl_rule_get_str(r, UInt16(NFTNL_RULE_TABLE.rawValue))),
                chain: Nftnl.text(nftnl_rule_get_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue))),
                handle: nftnl_rule_get_u64(r, UInt16(NFTNL_RULE_HANDLE.rawValue)),
                comment: comment, expressions: [], names: [], texts: [])
            let iterator = try Nftnl.make("nftnl_expr_iter_create", "a rule of chain \(rule.chain)") {
                nftnl_expr_iter_create(r)
            }
            defer { nftnl_expr_iter_destroy(iterator) }
            while let e = nftnl_expr_iter_next(iterator) {
                rule.expressions.append(NetlinkExpression.read(e) { .named($0) })
                rule.names.append(Nftnl.string(e, Int(NFTNL_EXPR_NAME)) ?? "?")
                rule.texts.append(Nftnl.describe(e))
            }
            rules.append(rule)
        default:
            break
        }
    }

    /// A string (a comment) kept in an object's user data under `type`.
    static func userString(_ data: UnsafeRawPointer, _ length: UInt32, type: UInt8) -> String? {
        final class Found {
            var type: UInt8
            var value: String?
            init(_ type: UInt8) { self.type = type }
        }
        let found = Found(type)
        let callback: nftnl_udata_cb_t = { attribute, context in
            guard let attribute, let context else { return 0 }
            let found = Unmanaged<Found>.fromOpaque(context).takeUnretainedValue()
            if nftnl_udata_type(attribute) == found.type, let value = nftnl_udata_get(attribute) {
                let bytes = UnsafeRawBufferPointer(start: value, count: Int(nftnl_udata_len(attribute)))
                found.value = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            return 0
        }
        _ = withExtendedLifetime(found) {
            nftnl_udata_parse(data, length, callback, Unmanaged.passUnretained(found).toOpaque())
        }
        return found.value
    }
}

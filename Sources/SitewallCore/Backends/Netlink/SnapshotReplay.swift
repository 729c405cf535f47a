import CNftnl
import Foundation

/// Puts a table saved by `NetlinkSocket.snapshot` back into a batch, for rollback: each object is
/// rebuilt from the attributes that define it (a dump also carries kernel state, such as handles,
/// that a new object must not be sent), in the order the kernel needs them: table, stateful
/// objects, chains, sets with their elements, rules. What cannot come back exactly is listed.
struct SnapshotReplay {
    let batch: NetlinkBatch
    /// Anonymous sets get new ids, which the rules' lookups must carry.
    private var anonymousIDs: [String: UInt32] = [:]
    private var nextID: UInt32 = 0x570_0000
    private(set) var lost: [String] = []

    init(batch: NetlinkBatch) { self.batch = batch }

    /// The pass a message type is replayed in, or nil when it is not replayed.
    static func pass(_ type: UInt32) -> Int? {
        switch type {
        case NFT_MSG_NEWTABLE.rawValue: 0
        case NFT_MSG_NEWOBJ.rawValue: 1
        case NFT_MSG_NEWFLOWTABLE.rawValue: 2
        case NFT_MSG_NEWCHAIN.rawValue: 3
        case NFT_MSG_NEWSET.rawValue, NFT_MSG_NEWSETELEM.rawValue: 4
        case NFT_MSG_NEWRULE.rawValue: 5
        default: nil
        }
    }

    mutating func replay(_ snapshot: [UInt8]) throws {
        for pass in 0...5 {
            try NetlinkMessages.forEach(snapshot) { message in
                let type = NetlinkMessages.type(message)
                if Self.pass(type) == pass { try replay(message, type: type) }
            }
        }
    }

    private mutating func replay(_ message: UnsafePointer<nlmsghdr>, type: UInt32) throws {
        let family = NetlinkMessages.family(message)
        switch type {
        case NFT_MSG_NEWTABLE.rawValue:
            let t = try Nftnl.make("nftnl_table_alloc", "the saved table") { nftnl_table_alloc() }
            defer { nftnl_table_free(t) }
            try Nftnl.check("nftnl_table_nlmsg_parse", "the saved table") { nftnl_table_nlmsg_parse(message, t) }
            nftnl_table_unset(t, UInt16(NFTNL_TABLE_HANDLE.rawValue))
            nftnl_table_unset(t, UInt16(NFTNL_TABLE_USE.rawValue))
            batch.put(NFT_MSG_NEWTABLE, family: family) { nftnl_table_nlmsg_build_payload($0, t) }
        case NFT_MSG_NEWOBJ.rawValue:
            try replayObject(message, family: family)
        case NFT_MSG_NEWFLOWTABLE.rawValue:
            lost.append("a flowtable")
        case NFT_MSG_NEWCHAIN.rawValue:
            let c = try Nftnl.make("nftnl_chain_alloc", "a saved chain") { nftnl_chain_alloc() }
            defer { nftnl_chain_free(c) }
            try Nftnl.check("nftnl_chain_nlmsg_parse", "a saved chain") { nftnl_chain_nlmsg_parse(message, c) }
            for attribute in [NFTNL_CHAIN_HANDLE, NFTNL_CHAIN_USE, NFTNL_CHAIN_BYTES, NFTNL_CHAIN_PACKETS] {
                nftnl_chain_unset(c, UInt16(attribute.rawValue))
            }
            batch.put(NFT_MSG_NEWCHAIN, family: family) { nftnl_chain_nlmsg_build_payload($0, c) }
        case NFT_MSG_NEWSET.rawValue:
            try replaySet(message, family: family)
        case NFT_MSG_NEWSETELEM.rawValue:
            try replayElements(message, family: family)
        case NFT_MSG_NEWRULE.rawValue:
            try replayRule(message, family: family)
        default:
            break
        }
    }

    /// libnftnl 1.2.4 cannot unset an object's handle: a new object is built from the defining fields.
    private mutating func replayObject(_ message: UnsafePointer<nlmsghdr>, family: UInt16) throws {
        let o = try Nftnl.make("nftnl_obj_alloc", "a saved object") { nftnl_obj_alloc() }
        defer { nftnl_obj_free(o) }
        try Nftnl.check("nftnl_obj_nlmsg_parse", "a saved object") { nftnl_obj_nlmsg_parse(message, o) }
        let name = Nftnl.text(nftnl_obj_get_str(o, UInt16(NFTNL_OBJ_NAME)))
        let type = nftnl_obj_get_u32(o, UInt16(NFTNL_OBJ_TYPE))
        let n = try Nftnl.make("nftnl_obj_alloc", "object \(name)") { nftnl_obj_alloc() }
        defer { nftnl_obj_free(n) }
        func copy(_ attributes: [Int]) {
            for attribute in attributes where nftnl_obj_is_set(o, UInt16(attribute)) {
                var length: UInt32 = 0
                if let data = nftnl_obj_get_data(o, UInt16(attribute), &length) {
                    nftnl_obj_set_data(n, UInt16(attribute), data, length)
                }
            }
        }
        nftnl_obj_set_u32(n, UInt16(NFTNL_OBJ_FAMILY), UInt32(family))
        copy([NFTNL_OBJ_TABLE, NFTNL_OBJ_NAME, NFTNL_OBJ_TYPE, NFTNL_OBJ_USERDATA])
        switch type {
        case UInt32(NFT_OBJECT_CT_HELPER):
            copy([NFTNL_OBJ_CT_HELPER_NAME, NFTNL_OBJ_CT_HELPER_L4PROTO, NFTNL_OBJ_CT_HELPER_L3PROTO])
        case UInt32(NFT_OBJECT_COUNTER):
            // The values come back too: a named counter keeps counting from where it was.
            copy([NFTNL_OBJ_CTR_PKTS, NFTNL_OBJ_CTR_BYTES])
        case UInt32(NFT_OBJECT_QUOTA):
            copy([NFTNL_OBJ_QUOTA_BYTES, NFTNL_OBJ_QUOTA_CONSUMED, NFTNL_OBJ_QUOTA_FLAGS])
        default:
            lost.append("named stateful object '\(name)' (object type \(type))")
            return
        }
        batch.put(NFT_MSG_NEWOBJ, family: family) { nftnl_obj_nlmsg_build_payload($0, n) }
    }

    /// A set rebuilt from its defining attributes; an anonymous one under a new id.
    private mutating func replaySet(_ message: UnsafePointer<nlmsghdr>, family: UInt16) throws {
        let dumped = try Nftnl.make("nftnl_set_alloc", "a saved set") { nftnl_set_alloc() }
        defer { nftnl_set_free(dumped) }
        try Nftnl.check("nftnl_set_nlmsg_parse", "a saved set") { nftnl_set_nlmsg_parse(message, dumped) }
        let name = Nftnl.text(nftnl_set_get_str(dumped, UInt16(NFTNL_SET_NAME.rawValue)))
        let s = try Nftnl.make("nftnl_set_alloc", "set \(name)") { nftnl_set_alloc() }
        defer { nftnl_set_free(s) }
        let id = nextID
        nextID += 1
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(family))
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), id)
        let defining: [nftnl_set_attr] = [
            NFTNL_SET_TABLE, NFTNL_SET_NAME, NFTNL_SET_FLAGS, NFTNL_SET_KEY_TYPE, NFTNL_SET_KEY_LEN,
            NFTNL_SET_DATA_TYPE,
            NFTNL_SET_DATA_LEN, NFTNL_SET_POLICY, NFTNL_SET_DESC_SIZE, NFTNL_SET_GC_INTERVAL, NFTNL_SET_OBJ_TYPE,
            NFTNL_SET_TIMEOUT, NFTNL_SET_USERDATA, NFTNL_SET_DESC_CONCAT,
        ]
        for attribute in defining where nftnl_set_is_set(dumped, UInt16(attribute.rawValue)) {
            var length: UInt32 = 0
            if let data = nftnl_set_get_data(dumped, UInt16(attribute.rawValue), &length) {
                nftnl_set_set_data(s, UInt16(attribute.rawValue), data, length)
            }
        }
        if nftnl_set_is_set(dumped, UInt16(NFTNL_SET_EXPR.rawValue))
            || nftnl_set_is_set(dumped, UInt16(NFTNL_SET_EXPRESSIONS.rawValue))
        {
            lost.append("the per-element statements of set '\(name)'")
        }
        if nftnl_set_get_u32(dumped, UInt16(NFTNL_SET_FLAGS.rawValue)) & NFT_SET_ANONYMOUS.rawValue != 0 {
            anonymousIDs[name] = id
        }
        batch.put(NFT_MSG_NEWSET, family: family) { nftnl_set_nlmsg_build_payload($0, s) }
    }

    /// A set's elements, without their remaining lifetimes (which cannot be set: they come back whole).
    private mutating func replayElements(_ message: UnsafePointer<nlmsghdr>, family: UInt16) throws {
        let s = try Nftnl.make("nftnl_set_alloc", "saved set elements") { nftnl_set_alloc() }
        defer { nftnl_set_free(s) }
        try Nftnl.check("nftnl_set_elems_nlmsg_parse", "saved set elements") { nftnl_set_elems_nlmsg_parse(message, s) }
        let name = Nftnl.text(nftnl_set_get_str(s, UInt16(NFTNL_SET_NAME.rawValue)))
        if let id = anonymousIDs[name] { nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), id) }
        let iterator = try Nftnl.make("nftnl_set_elems_iter_create", "set \(name)") { nftnl_set_elems_iter_create(s) }
        var expiring = 0
        while let e = nftnl_set_elems_iter_next(iterator) {
            if nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_EXPIRATION)) { expiring += 1 }
            nftnl_set_elem_unset(e, UInt16(NFTNL_SET_ELEM_EXPIRATION))
        }
        nftnl_set_elems_iter_destroy(iterator)
        if expiring > 0 { lost.append("the remaining lifetime of \(expiring) element(s) of set '\(name)'") }
        batch.putElements(of: s, family: family)
    }

    /// A rule without its handle and position; lookups of anonymous sets carry the sets' new ids.
    private mutating func replayRule(_ message: UnsafePointer<nlmsghdr>, family: UInt16) throws {
        let r = try Nftnl.make("nftnl_rule_alloc", "a saved rule") { nftnl_rule_alloc() }
        defer { nftnl_rule_free(r) }
        try Nftnl.check("nftnl_rule_nlmsg_parse", "a saved rule") { nftnl_rule_nlmsg_parse(message, r) }
        nftnl_rule_unset(r, UInt16(NFTNL_RULE_HANDLE.rawValue))
        nftnl_rule_unset(r, UInt16(NFTNL_RULE_POSITION.rawValue))
        let iterator = try Nftnl.make("nftnl_expr_iter_create", "a saved rule") { nftnl_expr_iter_create(r) }
        while let e = nftnl_expr_iter_next(iterator) {
            guard Nftnl.string(e, Int(NFTNL_EXPR_NAME)) == "lookup", let set = Nftnl.string(e, NFTNL_EXPR_LOOKUP_SET),
                let id = anonymousIDs[set]
            else { continue }
            try Nftnl.set(e, NFTNL_EXPR_LOOKUP_SET_ID, id, object: "a saved rule")
        }
        nftnl_expr_iter_destroy(iterator)
        batch.put(NFT_MSG_NEWRULE, family: family, flags: UInt16(NLM_F_CREATE | NLM_F_APPEND)) {
            nftnl_rule_nlmsg_build_payload($0, r)
        }
    }
}

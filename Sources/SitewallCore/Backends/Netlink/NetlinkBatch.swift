import CNftnl

/// One nf_tables transaction being built, with the object each message stands for,
/// so that a refusal from the kernel can name the set or rule it came from.
public final class NetlinkBatch {
    let handle: OpaquePointer
    private(set) var objects: [(seq: UInt32, name: String)] = []
    private(set) var beginSeq: UInt32 = 0
    private var nextSetID: UInt32 = 1

    public private(set) var counts = Counts()

    public struct Counts: Sendable, Equatable, CustomStringConvertible {
        public var tables = 0, chains = 0, sets = 0, elements = 0, rules = 0, helpers = 0, counters = 0
        public var description: String {
            "\(tables) table, \(chains) chains, \(sets) sets (\(elements) elements), "
                + "\(rules) rules, \(helpers) ct helpers" + (counters > 0 ? ", \(counters) counters" : "")
        }
    }

    init() {
        handle = CNftnl_batch_new(1)!
    }

    deinit { CNftnl_batch_free(handle) }

    /// Objects the shim could not encode (it returns sequence number 0 for them).
    private(set) var unencoded: [String] = []

    func record(_ seq: UInt32, _ name: String) {
        guard seq != 0 else {
            unencoded.append(name)
            return
        }
        objects.append((seq, name))
    }

    /// Throws when any object could not be encoded: such a batch must never be sent.
    func checkEncoded() throws {
        guard !unencoded.isEmpty else { return }
        throw NetlinkError(
            operation: "encoding the transaction",
            refusals: unencoded.map { .init(object: $0, errno: ENOMEM) })
    }

    /// The object a sequence number belongs to (several messages may share one: a set's elements).
    func object(for seq: UInt32) -> String {
        if seq == beginSeq { return "the transaction" }
        var low = 0
        var high = objects.count - 1
        var found: String?
        while low <= high {
            let mid = (low + high) / 2
            if objects[mid].seq <= seq {
                found = objects[mid].name
                low = mid + 1
            } else {
                high = mid - 1
            }
        }
        return found ?? "message \(seq)"
    }

    func begin(generation: UInt32?) {
        beginSeq = CNftnl_batch_begin(handle, generation == nil ? 0 : 1, generation ?? 0)
    }

    func end() { _ = CNftnl_batch_end(handle) }

    var messages: UInt32 { CNftnl_batch_messages(handle) }
    var bytes: Int { CNftnl_batch_bytes(handle) }

    func newSetID() -> UInt32 {
        defer { nextSetID += 1 }
        return nextSetID
    }

    /// sitewall's table lives in the inet family.
    static let family = UInt16(NFPROTO_INET)

    func addTable(_ name: String) {
        record(tableMessage(NFT_MSG_NEWTABLE, name), "table inet \(name)")
        counts.tables = 1
    }

    func deleteTable(_ name: String) {
        record(tableMessage(NFT_MSG_DELTABLE, name), "delete table inet \(name)")
    }

    /// A table message; 0 when libnftnl could not build it (recorded as unencoded).
    private func tableMessage(_ type: nf_tables_msg_types, _ name: String) -> UInt32 {
        guard let t = nftnl_table_alloc() else { return 0 }
        defer { nftnl_table_free(t) }
        nftnl_table_set_u32(t, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(Self.family))
        guard nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), name) >= 0 else { return 0 }
        if type == NFT_MSG_NEWTABLE { nftnl_table_set_u32(t, UInt16(NFTNL_TABLE_FLAGS.rawValue), 0) }
        let flags = type == NFT_MSG_NEWTABLE ? UInt16(NLM_F_CREATE) : 0
        return put(type, family: Self.family, flags: flags) { nftnl_table_nlmsg_build_payload($0, t) }
    }

    func addChain(table: String, _ chain: Chain) {
        record(chainMessage(table: table, chain), "chain \(chain.name)")
        counts.chains += 1
    }

    private func chainMessage(table: String, _ chain: Chain) -> UInt32 {
        guard let c = nftnl_chain_alloc() else { return 0 }
        defer { nftnl_chain_free(c) }
        nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_FAMILY.rawValue), UInt32(Self.family))
        guard nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue), table) >= 0,
            nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_NAME.rawValue), chain.name) >= 0,
            nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TYPE.rawValue), "filter") >= 0
        else { return 0 }
        nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), chain.hook.number)
        nftnl_chain_set_s32(c, UInt16(NFTNL_CHAIN_PRIO.rawValue), Int32(chain.priority))
        nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_POLICY.rawValue), chain.policy.verdict)
        return put(NFT_MSG_NEWCHAIN, family: Self.family) { nftnl_chain_nlmsg_build_payload($0, c) }
    }

    func addHelper(table: String, _ helper: ConntrackHelper) {
        record(helperMessage(table: table, helper), "ct helper \(helper.rawValue)")
        counts.helpers += 1
    }

    private func helperMessage(table: String, _ helper: ConntrackHelper) -> UInt32 {
        guard let o = nftnl_obj_alloc() else { return 0 }
        defer { nftnl_obj_free(o) }
        nftnl_obj_set_u32(o, UInt16(NFTNL_OBJ_FAMILY), UInt32(Self.family))
        nftnl_obj_set_str(o, UInt16(NFTNL_OBJ_TABLE), table)
        nftnl_obj_set_str(o, UInt16(NFTNL_OBJ_NAME), helper.rawValue)
        nftnl_obj_set_u32(o, UInt16(NFTNL_OBJ_TYPE), UInt32(NFT_OBJECT_CT_HELPER))
        nftnl_obj_set_str(o, UInt16(NFTNL_OBJ_CT_HELPER_NAME), helper.rawValue)
        nftnl_obj_set_u8(o, UInt16(NFTNL_OBJ_CT_HELPER_L4PROTO), helper.protocolNumber)
        return put(NFT_MSG_NEWOBJ, family: Self.family) { nftnl_obj_nlmsg_build_payload($0, o) }
    }

    /// A named counter, starting from `value` (the running one's, which apply carries over).
    func addCounter(table: String, name: String, value: CounterValue) {
        record(counterMessage(table: table, name: name, value: value), "counter \(name)")
        counts.counters += 1
    }

    private func counterMessage(table: String, name: String, value: CounterValue) -> UInt32 {
        guard let o = nftnl_obj_alloc() else { return 0 }
        defer { nftnl_obj_free(o) }
        nftnl_obj_set_u32(o, UInt16(NFTNL_OBJ_FAMILY), UInt32(Self.family))
        nftnl_obj_set_str(o, UInt16(NFTNL_OBJ_TABLE), table)
        nftnl_obj_set_str(o, UInt16(NFTNL_OBJ_NAME), name)
        nftnl_obj_set_u32(o, UInt16(NFTNL_OBJ_TYPE), UInt32(NFT_OBJECT_COUNTER))
        nftnl_obj_set_u64(o, UInt16(NFTNL_OBJ_CTR_PKTS), value.packets)
        nftnl_obj_set_u64(o, UInt16(NFTNL_OBJ_CTR_BYTES), value.bytes)
        return put(NFT_MSG_NEWOBJ, family: Self.family) { nftnl_obj_nlmsg_build_payload($0, o) }
    }

    /// A set of fixed-length keys (an element flagged NFT_SET_ELEM_INTERVAL_END closes a range of an
    /// interval set); anonymous sets (`flags` with NFT_SET_ANONYMOUS) get a kernel-chosen name.
    @discardableResult
    func addSet(
        table: String, name: String, flags: UInt32, keyType: UInt32, keyLength: Int,
        elements: [AnonymousSet.Element], comment: String?, keyTypeof: [UInt8]? = nil
    ) -> UInt32 {
        let id = newSetID()
        let anonymous = flags & NFT_SET_ANONYMOUS.rawValue != 0
        let seq = setMessages(
            table: table, name: name, id: id, flags: flags, keyType: keyType, keyLength: keyLength,
            elements: elements, comment: comment, keyTypeof: keyTypeof)
        record(seq, anonymous ? "anonymous set of \(elements.count) elements" : "set \(name)")
        if !anonymous {
            counts.sets += 1
            counts.elements += elements.count
        }
        return id
    }

    /// The set's message, then its elements' (split to fit netlink's 64 KiB attribute limit) under the
    /// same sequence number, so that a refused element names its set.
    private func setMessages(
        table: String, name: String, id: UInt32, flags: UInt32, keyType: UInt32, keyLength: Int,
        elements: [AnonymousSet.Element], comment: String?, keyTypeof: [UInt8]?
    ) -> UInt32 {
        guard let s = nftnl_set_alloc() else { return 0 }
        defer { nftnl_set_free(s) }
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(Self.family))
        guard nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table) >= 0,
            nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), name) >= 0
        else { return 0 }
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), id)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue), flags)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_TYPE.rawValue), keyType)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_LEN.rawValue), UInt32(keyLength))
        if flags & NFT_SET_ANONYMOUS.rawValue != 0 {
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_DESC_SIZE.rawValue), UInt32(elements.count))
        }
        // The keys' byte order and the comment, as nft writes them, so that nft lists the set alike.
        guard let userdata = nftnl_udata_buf_alloc(UInt32(NFT_USERDATA_MAXLEN)) else { return 0 }
        defer { nftnl_udata_buf_free(userdata) }
        guard nftnl_udata_put_u32(userdata, UInt8(NFTNL_UDATA_SET_KEYBYTEORDER.rawValue), AddressSetSpelling.bigEndian)
        else { return 0 }
        if let keyTypeof,
            !keyTypeof.withUnsafeBytes({
                nftnl_udata_put(
                    userdata, UInt8(NFTNL_UDATA_SET_KEY_TYPEOF.rawValue), UInt32(keyTypeof.count), $0.baseAddress)
            })
        {
            return 0
        }
        if let comment, !comment.isEmpty,
            !nftnl_udata_put_strz(userdata, UInt8(NFTNL_UDATA_SET_COMMENT.rawValue), RuleComment.clip(comment))
        {
            return 0
        }
        nftnl_set_set_data(
            s, UInt16(NFTNL_SET_USERDATA.rawValue), nftnl_udata_buf_data(userdata), nftnl_udata_buf_len(userdata))
        let seq = put(NFT_MSG_NEWSET, family: Self.family) { nftnl_set_nlmsg_build_payload($0, s) }
        guard !elements.isEmpty else { return seq }
        for element in elements {
            guard let e = nftnl_set_elem_alloc() else { return 0 }
            element.key.withUnsafeBytes {
                _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32(element.key.count))
            }
            if element.flags != 0 { nftnl_set_elem_set_u32(e, UInt16(NFTNL_SET_ELEM_FLAGS), element.flags) }
            if let userdata = element.userdata {
                userdata.withUnsafeBytes {
                    _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_USERDATA), $0.baseAddress, UInt32(userdata.count))
                }
            }
            nftnl_set_elem_add(s, e)
        }
        _ = CNftnl_batch_set_elements(handle, s, Self.family, seq)
        return seq
    }

    func addRule(_ rule: OpaquePointer, description: String) {
        record(CNftnl_rule_add(handle, rule), description)
        counts.rules += 1
    }

    /// Re-creates the objects of a snapshot (for rollback); returns what could not be put back exactly.
    @discardableResult
    func replay(_ snapshot: [UInt8]) throws -> [String] {
        record(CNftnl_batch_next_seq(handle), "the saved ruleset")
        var replay = SnapshotReplay(batch: self)
        do {
            try replay.replay(snapshot)
        } catch let error as NftnlError {
            throw NetlinkError.system("decoding the saved ruleset (\(error.call))", error.errno)
        }
        return replay.lost
    }

    /// One message of `type`, its payload written by `build` (a libnftnl nlmsg_build_payload function).
    @discardableResult
    func put(
        _ type: nf_tables_msg_types, family: UInt16, flags: UInt16 = UInt16(NLM_F_CREATE),
        build: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) -> UInt32 {
        var seq: UInt32 = 0
        guard let message = CNftnl_batch_message(handle, UInt16(type.rawValue), family, flags, &seq) else { return 0 }
        build(message)
        CNftnl_batch_next(handle)
        return seq
    }

    /// The element messages of a set (split to fit), under one sequence number.
    func putElements(of set: OpaquePointer, family: UInt16) {
        _ = CNftnl_batch_set_elements(handle, set, family, 0)
    }

    /// Binds the begun batch to another ruleset generation, so that one encoding can be sent again.
    func rebind(generation: UInt32) throws {
        let status = CNftnl_batch_set_genid(handle, generation)
        guard status == 0 else { throw NetlinkError.system("binding the batch to generation \(generation)", -status) }
    }

    /// Sends the batch; throws with every object the kernel refused.
    func send(on socket: NetlinkSocket, operation: String) throws {
        try checkEncoded()
        let capacity = 256
        var errors = [CNftnl_error](repeating: CNftnl_error(), count: capacity)
        let status = CNftnl_send(socket.handle, handle, &errors, capacity)
        if status < 0 {
            // Past sendmsg the batch may have been committed: only a refusal named by the kernel is certain.
            throw NetlinkError(
                operation: operation,
                refusals: [
                    .init(
                        object: -status == ENOBUFS
                            ? "the kernel's replies (lost: the outcome is unknown, read the ruleset back)"
                            : "sending the batch", errno: -status)
                ],
                outcomeUnknown: -status == ENOBUFS)
        }
        guard status > 0 else { return }
        let refusals = errors.prefix(min(Int(status), capacity)).map {
            NetlinkError.Refusal(object: object(for: $0.seq), errno: $0.error)
        }
        var error = NetlinkError(operation: operation, refusals: refusals)
        error.refusedCount = Int(status)
        throw error
    }
}

#if canImport(Glibc)
    import Glibc
#endif

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
        public var tables = 0, chains = 0, sets = 0, elements = 0, rules = 0, helpers = 0
        public var description: String {
            "\(tables) table, \(chains) chains, \(sets) sets (\(elements) elements), "
                + "\(rules) rules, \(helpers) ct helpers"
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

    func addTable(_ name: String) {
        record(CNftnl_table_add(handle, UInt16(NFPROTO_INET), name, 0), "table inet \(name)")
        counts.tables = 1
    }

    func deleteTable(_ name: String) {
        record(CNftnl_table_del(handle, UInt16(NFPROTO_INET), name), "delete table inet \(name)")
    }

    func addChain(table: String, _ chain: Chain) {
        record(
            CNftnl_chain_add(
                handle, UInt16(NFPROTO_INET), table, chain.name, chain.hook.number, Int32(chain.priority),
                chain.policy.verdict, "filter"),
            "chain \(chain.name)")
        counts.chains += 1
    }

    func addHelper(table: String, _ helper: ConntrackHelper) {
        record(
            CNftnl_ct_helper_add(
                handle, UInt16(NFPROTO_INET), table, helper.rawValue, helper.rawValue,
                helper.protocolNumber),
            "ct helper \(helper.rawValue)")
        counts.helpers += 1
    }

    /// A set of fixed-length keys; anonymous sets get an id and a kernel-chosen name.
    @discardableResult
    func addSet(
        table: String, name: String, anonymous: Bool, keyType: UInt32, keyLength: Int, keys: [[UInt8]], comment: String?
    ) -> UInt32 {
        let id = newSetID()
        var packed: [UInt8] = []
        packed.reserveCapacity(keys.count * keyLength)
        for key in keys { packed += key }
        let flags = anonymous ? NFT_SET_ANONYMOUS.rawValue | NFT_SET_CONSTANT.rawValue : 0
        let seq = packed.withUnsafeBufferPointer { buffer in
            CNftnl_set_add(
                handle, UInt16(NFPROTO_INET), table, name, id, flags, keyType, UInt32(keyLength),
                buffer.baseAddress, keys.count, comment)
        }
        record(seq, anonymous ? "anonymous set of \(keys.count) elements" : "set \(name)")
        if !anonymous {
            counts.sets += 1
            counts.elements += keys.count
        }
        return id
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
    func put(
        _ type: nf_tables_msg_types, family: UInt16, flags: UInt16 = UInt16(NLM_F_CREATE),
        build: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) {
        var seq: UInt32 = 0
        guard let message = CNftnl_batch_message(handle, UInt16(type.rawValue), family, flags, &seq) else { return }
        build(message)
        CNftnl_batch_next(handle)
    }

    /// The element messages of a set (split to fit), under one sequence number.
    func putElements(of set: OpaquePointer, family: UInt16) {
        _ = CNftnl_batch_set_elements(handle, set, family)
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

import CNftnl
import Foundation

/// The nf_tables expressions sitewall writes, as values: what the match kinds encode to, what a
/// dumped rule is read into, and what "exact" is decided on. Every attribute libnftnl reads is
/// part of the value, so a flag or register sitewall never writes makes two values differ; an
/// expression of another kind, or with an attribute this type does not hold, is `.other`.
enum NetlinkExpression: Hashable, Sendable {
    case meta(key: UInt32, dreg: UInt32)
    case cmp(sreg: UInt32, op: UInt32, data: [UInt8])
    case payload(base: UInt32, offset: UInt32, length: UInt32, dreg: UInt32)
    case lookup(sreg: UInt32, set: SetReference, flags: UInt32)
    case bitwise(sreg: UInt32, dreg: UInt32, length: UInt32, mask: [UInt8], xor: [UInt8])
    case ct(key: UInt32, dreg: UInt32)
    case objref(type: UInt32, name: String)
    /// A token bucket: `rate` per `unit` seconds, `burst` packets (or bytes, by `type`).
    case limit(rate: UInt64, unit: UInt64, burst: UInt32, type: UInt32, flags: UInt32)
    /// `log`: a prefix, and an NFLOG group or else the syslog level the kernel reports.
    case log(prefix: String, group: UInt16?, level: UInt32?)
    case verdict(Int32)
    /// libnftnl's rendering of an expression sitewall does not model.
    case other(String)

    /// sitewall loads every value into the first 128-bit register, as nft does.
    static let register = NFT_REG_1.rawValue

    static func load(meta key: nft_meta_keys) -> Self { .meta(key: key.rawValue, dreg: register) }
    static func load(payload base: nft_payload_bases, offset: UInt32, length: UInt32) -> Self {
        .payload(base: base.rawValue, offset: offset, length: length, dreg: register)
    }
    static func compare(_ op: nft_cmp_ops, _ data: [UInt8]) -> Self {
        .cmp(sreg: register, op: op.rawValue, data: data)
    }
    static func lookUp(_ set: SetReference) -> Self { .lookup(sreg: register, set: set, flags: 0) }
}

/// The set a lookup names: one of the table's named sets, or an anonymous set of its own, which
/// is compared by its contents (the kernel names anonymous sets itself).
enum SetReference: Hashable, Sendable {
    case named(String)
    case anonymous(AnonymousSet)
}

struct AnonymousSet: Hashable, Sendable {
    struct Element: Hashable, Sendable, Comparable {
        var key: [UInt8]
        var flags: UInt32 = 0
        /// Element user data (nft marks a range open to the end of the address space so).
        var userdata: [UInt8]? = nil

        static func < (lhs: Element, rhs: Element) -> Bool {
            lhs.key.lexicographicallyPrecedes(rhs.key) || (lhs.key == rhs.key && lhs.flags < rhs.flags)
        }
    }

    /// nft's datatype id of the keys (which `nft list` prints them by).
    var keyType: UInt32
    var keyLength: UInt32
    var flags: UInt32 = NFT_SET_ANONYMOUS.rawValue | NFT_SET_CONSTANT.rawValue
    /// Sorted: a set has no order.
    private(set) var elements: [Element]
    /// What nft records of the key's expression (its `typeof` user data) for a raw payload key, so that
    /// `nft list` prints the values alike; not part of what the set is (a dump does not read it back).
    var keyTypeof: [UInt8]?

    static func == (lhs: AnonymousSet, rhs: AnonymousSet) -> Bool {
        (lhs.keyType, lhs.keyLength, lhs.flags, lhs.elements) == (rhs.keyType, rhs.keyLength, rhs.flags, rhs.elements)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(keyType)
        hasher.combine(keyLength)
        hasher.combine(flags)
        hasher.combine(elements)
    }

    init(keyType: UInt32, keyLength: UInt32, flags: UInt32? = nil, elements: [Element]) {
        self.keyType = keyType
        self.keyLength = keyLength
        if let flags { self.flags = flags }
        self.elements = elements.sorted()
    }

    /// The keys, when the set is one of plain keys (no interval ends or other element flags).
    var plainKeys: [[UInt8]]? {
        guard flags == NFT_SET_ANONYMOUS.rawValue | NFT_SET_CONSTANT.rawValue, elements.allSatisfy({ $0.flags == 0 })
        else { return nil }
        return elements.map(\.key)
    }
}

extension NetlinkExpression {
    /// Adds this expression to a libnftnl rule; `anonymous` puts an anonymous set into the batch
    /// and gives the name and id the lookup refers to it by.
    func add(
        to rule: OpaquePointer, object: String,
        anonymous: (AnonymousSet) throws -> (name: String, id: UInt32)
    ) throws {
        let name: String
        switch self {
        case .meta: name = "meta"
        case .cmp: name = "cmp"
        case .payload: name = "payload"
        case .lookup: name = "lookup"
        case .bitwise: name = "bitwise"
        case .ct: name = "ct"
        case .objref: name = "objref"
        case .limit: name = "limit"
        case .log: name = "log"
        case .verdict: name = "immediate"
        case .other(let text): throw NftnlError(call: "encoding '\(text)'", object: object, errno: EINVAL)
        }
        let e = try Nftnl.make("nftnl_expr_alloc(\(name))", object) { nftnl_expr_alloc(name) }
        do {
            switch self {
            case .meta(let key, let dreg):
                try Nftnl.set(e, NFTNL_EXPR_META_KEY, key, object: object)
                try Nftnl.set(e, NFTNL_EXPR_META_DREG, dreg, object: object)
            case .cmp(let sreg, let op, let data):
                try Nftnl.set(e, NFTNL_EXPR_CMP_SREG, sreg, object: object)
                try Nftnl.set(e, NFTNL_EXPR_CMP_OP, op, object: object)
                try Nftnl.set(e, NFTNL_EXPR_CMP_DATA, data, object: object)
            case .payload(let base, let offset, let length, let dreg):
                try Nftnl.set(e, NFTNL_EXPR_PAYLOAD_BASE, base, object: object)
                try Nftnl.set(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset, object: object)
                try Nftnl.set(e, NFTNL_EXPR_PAYLOAD_LEN, length, object: object)
                try Nftnl.set(e, NFTNL_EXPR_PAYLOAD_DREG, dreg, object: object)
            case .lookup(let sreg, let set, let flags):
                try Nftnl.set(e, NFTNL_EXPR_LOOKUP_SREG, sreg, object: object)
                switch set {
                case .named(let setName):
                    try Nftnl.set(e, NFTNL_EXPR_LOOKUP_SET, setName, object: object)
                case .anonymous(let contents):
                    let (setName, id) = try anonymous(contents)
                    try Nftnl.set(e, NFTNL_EXPR_LOOKUP_SET, setName, object: object)
                    try Nftnl.set(e, NFTNL_EXPR_LOOKUP_SET_ID, id, object: object)
                }
                if flags != 0 { try Nftnl.set(e, NFTNL_EXPR_LOOKUP_FLAGS, flags, object: object) }
            case .bitwise(let sreg, let dreg, let length, let mask, let xor):
                try Nftnl.set(e, NFTNL_EXPR_BITWISE_SREG, sreg, object: object)
                try Nftnl.set(e, NFTNL_EXPR_BITWISE_DREG, dreg, object: object)
                try Nftnl.set(e, NFTNL_EXPR_BITWISE_LEN, length, object: object)
                try Nftnl.set(e, NFTNL_EXPR_BITWISE_MASK, mask, object: object)
                try Nftnl.set(e, NFTNL_EXPR_BITWISE_XOR, xor, object: object)
            case .ct(let key, let dreg):
                try Nftnl.set(e, NFTNL_EXPR_CT_KEY, key, object: object)
                try Nftnl.set(e, NFTNL_EXPR_CT_DREG, dreg, object: object)
            case .objref(let type, let objectName):
                try Nftnl.set(e, NFTNL_EXPR_OBJREF_IMM_TYPE, type, object: object)
                try Nftnl.set(e, NFTNL_EXPR_OBJREF_IMM_NAME, objectName, object: object)
            case .limit(let rate, let unit, let burst, let type, let flags):
                try Nftnl.set(e, NFTNL_EXPR_LIMIT_RATE, rate, object: object)
                try Nftnl.set(e, NFTNL_EXPR_LIMIT_UNIT, unit, object: object)
                try Nftnl.set(e, NFTNL_EXPR_LIMIT_BURST, burst, object: object)
                try Nftnl.set(e, NFTNL_EXPR_LIMIT_TYPE, type, object: object)
                try Nftnl.set(e, NFTNL_EXPR_LIMIT_FLAGS, flags, object: object)
            case .log(let prefix, let group, let level):
                try Nftnl.set(e, NFTNL_EXPR_LOG_PREFIX, prefix, object: object)
                if let group {
                    try Nftnl.set(e, NFTNL_EXPR_LOG_GROUP, withUnsafeBytes(of: group) { Array($0) }, object: object)
                }
                if let level { try Nftnl.set(e, NFTNL_EXPR_LOG_LEVEL, level, object: object) }
            case .verdict(let code):
                try Nftnl.set(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT.rawValue, object: object)
                try Nftnl.set(e, NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: code), object: object)
            case .other: break
            }
        } catch {
            nftnl_expr_free(e)
            throw error
        }
        nftnl_rule_add_expr(rule, e)
    }

    /// Reads a dumped expression; `set` resolves a lookup's set name (anonymous sets by content).
    static func read(_ e: OpaquePointer, set: (String) -> SetReference) -> NetlinkExpression {
        let other = NetlinkExpression.other(Nftnl.describe(e))
        // Any attribute beyond the ones a case holds makes the expression one sitewall does not write.
        func holds(only attributes: [Int]) -> Bool {
            (NFTNL_EXPR_BASE..<NFTNL_EXPR_BASE + 16).allSatisfy {
                attributes.contains($0) || !nftnl_expr_is_set(e, UInt16($0))
            }
        }
        func u32(_ attribute: Int) -> UInt32? { Nftnl.u32(e, attribute) }
        switch Nftnl.string(e, NFTNL_EXPR_NAME) {
        case "meta":
            guard holds(only: [NFTNL_EXPR_META_KEY, NFTNL_EXPR_META_DREG]),
                let key = u32(NFTNL_EXPR_META_KEY), let dreg = u32(NFTNL_EXPR_META_DREG)
            else { return other }
            return .meta(key: key, dreg: dreg)
        case "cmp":
            guard holds(only: [NFTNL_EXPR_CMP_SREG, NFTNL_EXPR_CMP_OP, NFTNL_EXPR_CMP_DATA]),
                let sreg = u32(NFTNL_EXPR_CMP_SREG), let op = u32(NFTNL_EXPR_CMP_OP),
                let data = Nftnl.bytes(e, NFTNL_EXPR_CMP_DATA)
            else { return other }
            return .cmp(sreg: sreg, op: op, data: data)
        case "payload":
            let held = [
                NFTNL_EXPR_PAYLOAD_BASE, NFTNL_EXPR_PAYLOAD_OFFSET, NFTNL_EXPR_PAYLOAD_LEN, NFTNL_EXPR_PAYLOAD_DREG,
            ]
            guard holds(only: held), let base = u32(NFTNL_EXPR_PAYLOAD_BASE),
                let offset = u32(NFTNL_EXPR_PAYLOAD_OFFSET),
                let length = u32(NFTNL_EXPR_PAYLOAD_LEN), let dreg = u32(NFTNL_EXPR_PAYLOAD_DREG)
            else { return other }
            return .payload(base: base, offset: offset, length: length, dreg: dreg)
        case "lookup":
            // The set id only travels from user space to the kernel; a dump names the set.
            let held = [
                NFTNL_EXPR_LOOKUP_SREG, NFTNL_EXPR_LOOKUP_SET, NFTNL_EXPR_LOOKUP_SET_ID, NFTNL_EXPR_LOOKUP_FLAGS,
            ]
            guard holds(only: held), let sreg = u32(NFTNL_EXPR_LOOKUP_SREG),
                let name = Nftnl.string(e, NFTNL_EXPR_LOOKUP_SET)
            else { return other }
            return .lookup(sreg: sreg, set: set(name), flags: u32(NFTNL_EXPR_LOOKUP_FLAGS) ?? 0)
        case "bitwise":
            let held = [
                NFTNL_EXPR_BITWISE_SREG, NFTNL_EXPR_BITWISE_DREG, NFTNL_EXPR_BITWISE_LEN, NFTNL_EXPR_BITWISE_MASK,
                NFTNL_EXPR_BITWISE_XOR, NFTNL_EXPR_BITWISE_OP,
            ]
            // Kernels name the operation; mask-and-xor is the one sitewall writes (and the default).
            guard holds(only: held),
                (u32(NFTNL_EXPR_BITWISE_OP) ?? NFT_BITWISE_MASK_XOR.rawValue) == NFT_BITWISE_MASK_XOR.rawValue,
                let sreg = u32(NFTNL_EXPR_BITWISE_SREG), let dreg = u32(NFTNL_EXPR_BITWISE_DREG),
                let length = u32(NFTNL_EXPR_BITWISE_LEN), let mask = Nftnl.bytes(e, NFTNL_EXPR_BITWISE_MASK),
                let xor = Nftnl.bytes(e, NFTNL_EXPR_BITWISE_XOR)
            else { return other }
            return .bitwise(sreg: sreg, dreg: dreg, length: length, mask: mask, xor: xor)
        case "ct":
            guard holds(only: [NFTNL_EXPR_CT_KEY, NFTNL_EXPR_CT_DREG]), let key = u32(NFTNL_EXPR_CT_KEY),
                let dreg = u32(NFTNL_EXPR_CT_DREG)
            else { return other }
            return .ct(key: key, dreg: dreg)
        case "objref":
            guard holds(only: [NFTNL_EXPR_OBJREF_IMM_TYPE, NFTNL_EXPR_OBJREF_IMM_NAME]),
                let type = u32(NFTNL_EXPR_OBJREF_IMM_TYPE), let name = Nftnl.string(e, NFTNL_EXPR_OBJREF_IMM_NAME)
            else { return other }
            return .objref(type: type, name: name)
        case "limit":
            let held = [
                NFTNL_EXPR_LIMIT_RATE, NFTNL_EXPR_LIMIT_UNIT, NFTNL_EXPR_LIMIT_BURST, NFTNL_EXPR_LIMIT_TYPE,
                NFTNL_EXPR_LIMIT_FLAGS,
            ]
            guard holds(only: held), let rate = Nftnl.u64(e, NFTNL_EXPR_LIMIT_RATE),
                let unit = Nftnl.u64(e, NFTNL_EXPR_LIMIT_UNIT)
            else { return other }
            return .limit(
                rate: rate, unit: unit, burst: u32(NFTNL_EXPR_LIMIT_BURST) ?? 0, type: u32(NFTNL_EXPR_LIMIT_TYPE) ?? 0,
                flags: u32(NFTNL_EXPR_LIMIT_FLAGS) ?? 0)
        case "log":
            // Snap length, queue threshold and flags are never written: holding one makes it foreign.
            guard holds(only: [NFTNL_EXPR_LOG_PREFIX, NFTNL_EXPR_LOG_GROUP, NFTNL_EXPR_LOG_LEVEL]),
                let prefix = Nftnl.string(e, NFTNL_EXPR_LOG_PREFIX)
            else { return other }
            let group = Nftnl.bytes(e, NFTNL_EXPR_LOG_GROUP).flatMap { bytes in
                bytes.count == 2 ? bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) } : nil
            }
            return .log(prefix: prefix, group: group, level: u32(NFTNL_EXPR_LOG_LEVEL))
        case "immediate":
            guard holds(only: [NFTNL_EXPR_IMM_DREG, NFTNL_EXPR_IMM_VERDICT]),
                u32(NFTNL_EXPR_IMM_DREG) == NFT_REG_VERDICT.rawValue, let code = u32(NFTNL_EXPR_IMM_VERDICT)
            else { return other }
            return .verdict(Int32(bitPattern: code))
        default:
            return other
        }
    }
}

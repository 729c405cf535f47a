import CNftnl

/// `ct state established,related`: a mask test on the conntrack state bits.
struct CtStateMatch: RulePart, Equatable {
    var states: [CtState]

    /// NF_CT_STATE_INVALID_BIT, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) and so on (nf_conntrack_common.h,
    /// where they are macros Swift cannot import).
    static let bits: [CtState: UInt32] = [
        .invalid: 1 << 0, .established: 1 << 1, .related: 1 << 2, .new: 1 << 3,
        .untracked: 1 << 6,
    ]
    /// The order nft lists states in (by bit).
    static let order: [CtState] = [.invalid, .established, .related, .new, .untracked]

    static func parts(of rule: Rule) -> [CtStateMatch] { rule.ctState.map { [CtStateMatch(states: $0)] } ?? [] }

    func apply(to rule: inout Rule) { rule.ctState = Self.order.filter(states.contains) }

    func nft(in rule: Rule) -> String? { "ct state " + states.map(\.rawValue).joined(separator: ",") }

    func netlink() throws -> [NetlinkExpression] {
        let mask = states.reduce(UInt32(0)) { $0 | (Self.bits[$1] ?? 0) }
        let zero = Bytes.host32(0)
        let register = NetlinkExpression.register
        return [
            .ct(key: NFT_CT_STATE.rawValue, dreg: register),
            .bitwise(sreg: register, dreg: register, length: 4, mask: Bytes.host32(mask), xor: zero),
            .compare(NFT_CMP_NEQ, zero),
        ]
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: CtStateMatch, count: Int)? {
        let items = Array(expressions.prefix(3))
        guard items.count == 3, case .ct(let key, _) = items[0], key == NFT_CT_STATE.rawValue,
            case .bitwise(_, _, _, let maskBytes, _) = items[1], let mask = Bytes.host32(maskBytes)
        else { return nil }
        return (CtStateMatch(states: order.filter { (bits[$0] ?? 0) & mask != 0 }), 3)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: CtStateMatch, count: Int)? {
        guard let first = expressions.first, let match = NftJSON.match(first), match.op == "in" || match.op == "==",
            let ct = match.left["ct"] as? [String: Any], ct.count == 1, ct["key"] as? String == "state"
        else { return nil }
        let names = (match.right as? [Any]) ?? [match.right as Any]
        let states = names.compactMap { ($0 as? String).flatMap(CtState.init(rawValue:)) }
        guard states.count == names.count, !states.isEmpty else { return nil }
        return (CtStateMatch(states: order.filter(states.contains)), 1)
    }
}

import CNftnl

/// `tcp flags ! syn`: a TCP segment that opens no connection. It lets the replies of SSH sessions that
/// were open before conntrack tracked them (the first apply on a machine) pass: conntrack picks such a
/// session up mid-stream and calls the server's next segment new, which the output chain would drop.
/// No connection can be opened through it (a SYN never matches).
struct TCPFlagsMatch: RulePart, Equatable {
    static func parts(of rule: Rule) -> [TCPFlagsMatch] { rule.withoutSYN == true ? [TCPFlagsMatch()] : [] }

    func apply(to rule: inout Rule) { rule.withoutSYN = true }

    func nft(in rule: Rule) -> String? { "tcp flags ! syn" }

    /// TH_SYN in the flags byte (offset 13 of the TCP header).
    static let syn: UInt8 = 0x02

    func netlink() throws -> [NetlinkExpression] {
        [
            .load(payload: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 13, length: 1),
            .bitwise(
                sreg: NetlinkExpression.register, dreg: NetlinkExpression.register, length: 1, mask: [Self.syn],
                xor: [0]),
            .compare(NFT_CMP_EQ, [0]),
        ]
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: TCPFlagsMatch, count: Int)? {
        guard rule.transport == .tcp, expressions.count >= 3,
            case .payload(let base, 13, 1, _) = expressions.first, base == NFT_PAYLOAD_TRANSPORT_HEADER.rawValue,
            case .bitwise(_, _, 1, [Self.syn], [0]) = expressions[expressions.startIndex + 1],
            case .cmp(_, _, [0]) = expressions[expressions.startIndex + 2]
        else { return nil }
        // Registers and the operator are checked when the rule is encoded again and compared.
        return (TCPFlagsMatch(), 3)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: TCPFlagsMatch, count: Int)? {
        guard let first = expressions.first, let match = NftJSON.match(first), match.op == "!",
            let (proto, field) = NftJSON.payload(match), proto == "tcp", field == "flags",
            match.right as? String == "syn"
        else { return nil }
        return (TCPFlagsMatch(), 1)
    }
}

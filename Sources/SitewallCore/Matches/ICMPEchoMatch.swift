import CNftnl

#if canImport(Glibc)
    import Glibc
#endif

/// `icmp type echo-request` (IPv4) or `icmpv6 type echo-request` (IPv6): the ping a site opts into.
/// The rule's family says which; nft writes `meta nfproto` before it and leaves it implied in text.
struct ICMPEchoMatch: RulePart, Equatable {
    var family: IPFamily

    /// Echo request types: RFC 792 (8) and RFC 4443 section 4.1 (128).
    static func type(_ family: IPFamily) -> UInt8 { family == .ipv4 ? 8 : 128 }
    static func proto(_ family: IPFamily) -> UInt8 { UInt8(family == .ipv4 ? IPPROTO_ICMP : IPPROTO_ICMPV6) }
    static func keyword(_ family: IPFamily) -> String { family == .ipv4 ? "icmp" : "icmpv6" }

    static func parts(of rule: Rule) -> [ICMPEchoMatch] {
        rule.transport == .icmp ? [ICMPEchoMatch(family: rule.family ?? .ipv4)] : []
    }

    func apply(to rule: inout Rule) {
        rule.transport = .icmp
        rule.family = family
    }

    func nft(in rule: Rule) -> String? { "\(Self.keyword(family)) type echo-request" }

    func netlink() throws -> [NetlinkExpression] {
        [
            .load(meta: NFT_META_L4PROTO), .compare(NFT_CMP_EQ, [Self.proto(family)]),
            .load(payload: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, length: 1),
            .compare(NFT_CMP_EQ, [Self.type(family)]),
        ]
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: ICMPEchoMatch, count: Int)? {
        let items = Array(expressions.prefix(4))
        guard items.count == 4, case .meta(let key, _) = items[0], key == NFT_META_L4PROTO.rawValue,
            case .cmp(_, _, let proto) = items[1],
            let family = IPFamily.allCases.first(where: { [Self.proto($0)] == proto }),
            case .cmp(_, _, let type) = items[3], type == [Self.type(family)]
        else { return nil }
        // The load and the operators are checked when the rule is encoded again and compared.
        return (ICMPEchoMatch(family: family), 4)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: ICMPEchoMatch, count: Int)? {
        guard let first = expressions.first, let match = NftJSON.match(first), match.op == "==",
            let (proto, field) = NftJSON.payload(match), field == "type", match.right as? String == "echo-request",
            let family = IPFamily.allCases.first(where: { keyword($0) == proto })
        else { return nil }
        return (ICMPEchoMatch(family: family), 1)
    }
}

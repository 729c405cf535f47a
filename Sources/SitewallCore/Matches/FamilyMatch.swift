import CNftnl

/// `meta nfproto ipv4`: the family of a rule in the inet table. nft writes it before the first
/// address, ICMP echo or ICMPv6 match too, where the text leaves it implied.
struct FamilyMatch: RulePart, Equatable {
    var family: IPFamily

    static func parts(of rule: Rule) -> [FamilyMatch] {
        (rule.family ?? (rule.icmpv6Types != nil ? .ipv6 : nil)).map { [FamilyMatch(family: $0)] } ?? []
    }

    func apply(to rule: inout Rule) { rule.family = family }

    func nft(in rule: Rule) -> String? {
        guard rule.saddr == nil, rule.daddr == nil, rule.icmpv6Types == nil, rule.transport != .icmp else { return nil }
        return "meta nfproto \(family == .ipv4 ? "ipv4" : "ipv6")"
    }

    var number: UInt8 { UInt8(family == .ipv4 ? NFPROTO_IPV4 : NFPROTO_IPV6) }

    func netlink() throws -> [NetlinkExpression] { [.load(meta: NFT_META_NFPROTO), .compare(NFT_CMP_EQ, [number])] }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: FamilyMatch, count: Int)? {
        guard expressions.count >= 2, case .meta(let key, _) = expressions.first, key == NFT_META_NFPROTO.rawValue,
            case .cmp(_, _, let data) = expressions[expressions.startIndex + 1],
            let family = IPFamily.allCases.first(where: { [FamilyMatch(family: $0).number] == data })
        else { return nil }
        return (FamilyMatch(family: family), 2)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: FamilyMatch, count: Int)? {
        guard let first = expressions.first, let match = NftJSON.match(first), match.op == "==",
            NftJSON.metaKey(match) == "nfproto"
        else { return nil }
        switch match.right as? String {
        case "ipv4": return (FamilyMatch(family: .ipv4), 1)
        case "ipv6": return (FamilyMatch(family: .ipv6), 1)
        default: return nil
        }
    }
}

import CNftnl

#if canImport(Glibc)
    import Glibc
#endif

/// `icmpv6 type { nd-neighbor-solicit, ... } ip6 hoplimit 255`: neighbour discovery, from on-link
/// senders only (a router never forwards a packet with hop limit 255); `icmpv6 type { mld-listener-query,
/// ... } ip6 hoplimit 1`: multicast listener discovery, which is sent with hop limit 1 and never routed
/// (RFC 2710 and 3810; RFC 4890 4.4.1 lists both as traffic a firewall must let a host have).
struct ICMPv6Match: RulePart, Equatable {
    var types: [String]

    /// The types sitewall allows, by the names nft gives them (RFC 4861).
    static let numbers: [String: UInt8] = [
        "nd-router-solicit": 133, "nd-router-advert": 134, "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136,
        "mld-listener-query": 130, "mld-listener-report": 131, "mld-listener-done": 132, "mld2-listener-report": 143,
    ]
    /// The multicast listener discovery types: hop limit 1 (the others: 255).
    static let listenerDiscovery: Set<String> = [
        "mld-listener-query", "mld-listener-report", "mld-listener-done", "mld2-listener-report",
    ]
    /// nft's datatype id for ICMPv6 types, which the anonymous set carries.
    static let typeType: UInt32 = 29
    /// The hop-limit byte of the IPv6 header, and the only value an on-link sender's packet has.
    static let hopLimitOffset: UInt32 = 7
    static let onLinkHopLimit: UInt8 = 255

    /// The hop limit the types are sent with: 1 for listener discovery, 255 for neighbour discovery.
    static func hopLimit(_ types: [String]) -> UInt8 {
        types.allSatisfy(listenerDiscovery.contains) ? 1 : onLinkHopLimit
    }

    /// Types in one order (by number), whatever order they were written or dumped in.
    static func sorted(_ types: [String]) -> [String] {
        types.sorted { (numbers[$0] ?? .max, $0) < (numbers[$1] ?? .max, $1) }
    }

    static func parts(of rule: Rule) -> [ICMPv6Match] { rule.icmpv6Types.map { [ICMPv6Match(types: $0)] } ?? [] }

    func apply(to rule: inout Rule) {
        rule.icmpv6Types = Self.sorted(types)
        rule.family = .ipv6
    }

    func nft(in rule: Rule) -> String? {
        "icmpv6 type { \(types.joined(separator: ", ")) } ip6 hoplimit \(Self.hopLimit(types))"
    }

    func netlink() throws -> [NetlinkExpression] {
        // One rule holds one kind: neighbour discovery (hop limit 255) or listener discovery (1).
        guard
            types.allSatisfy(Self.listenerDiscovery.contains) || !types.contains(where: Self.listenerDiscovery.contains)
        else { throw UnsupportedConstruct(reason: "neighbour and listener discovery types in one rule") }
        let elements = try types.map { name -> AnonymousSet.Element in
            guard let number = Self.numbers[name] else { throw UnsupportedConstruct(reason: "ICMPv6 type \(name)") }
            return AnonymousSet.Element(key: [number])
        }
        return [
            .load(meta: NFT_META_L4PROTO), .compare(NFT_CMP_EQ, [UInt8(IPPROTO_ICMPV6)]),
            .load(payload: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, length: 1),
            .lookUp(.anonymous(AnonymousSet(keyType: Self.typeType, keyLength: 1, elements: elements))),
            .load(payload: NFT_PAYLOAD_NETWORK_HEADER, offset: Self.hopLimitOffset, length: 1),
            .compare(NFT_CMP_EQ, [Self.hopLimit(types)]),
        ]
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: ICMPv6Match, count: Int)? {
        let items = Array(expressions.prefix(6))
        guard items.count == 6, case .meta(let key, _) = items[0], key == NFT_META_L4PROTO.rawValue,
            case .cmp(_, _, let proto) = items[1], proto == [UInt8(IPPROTO_ICMPV6)],
            case .lookup(_, .anonymous(let set), _) = items[3], let keys = set.plainKeys
        else { return nil }
        let names = Dictionary(uniqueKeysWithValues: numbers.map { ($0.value, $0.key) })
        let types = keys.compactMap { $0.count == 1 ? names[$0[0]] : nil }
        guard types.count == keys.count else { return nil }
        // The loads and the hop limit are checked when the rule is encoded again and compared.
        return (ICMPv6Match(types: sorted(types)), 6)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: ICMPv6Match, count: Int)? {
        let items = Array(expressions.prefix(2))
        guard items.count == 2, let match = NftJSON.match(items[0]), match.op == "==" || match.op == "in",
            let (proto, field) = NftJSON.payload(match), proto == "icmpv6", field == "type",
            let hop = NftJSON.match(items[1]), hop.op == "==", let (hopProto, hopField) = NftJSON.payload(hop),
            hopProto == "ip6", hopField == "hoplimit"
        else { return nil }
        let names = ((match.right as? [String: Any])?["set"] as? [Any]) ?? [match.right as Any]
        let types = names.compactMap { $0 as? String }
        guard types.count == names.count, types.allSatisfy({ numbers[$0] != nil }),
            hop.right as? Int == Int(hopLimit(types))
        else { return nil }
        return (ICMPv6Match(types: sorted(types)), 2)
    }
}

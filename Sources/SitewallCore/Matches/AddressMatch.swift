import CNftnl

/// `ip saddr @hosts`, `ip6 daddr fd00::1`: a source or destination address against a named set or
/// one literal address. Read back only after the family check that gives the offsets their
/// meaning; a raw network-header match without it is not this.
struct NetworkAddressMatch: RulePart, Equatable {
    enum Field: String, Sendable { case saddr, daddr }

    var field: Field
    var family: IPFamily?
    var match: AddressMatch

    static func parts(of rule: Rule) -> [NetworkAddressMatch] {
        [(Field.saddr, rule.saddr), (Field.daddr, rule.daddr)].compactMap { field, match in
            match.map { NetworkAddressMatch(field: field, family: rule.family, match: $0) }
        }
    }

    func apply(to rule: inout Rule) {
        rule.family = family
        if field == .saddr { rule.saddr = match } else { rule.daddr = match }
    }

    func nft(in rule: Rule) -> String? {
        let value: String
        switch match {
        case .set(let name): value = "@\(name)"
        case .addresses(let list):
            value =
                list.count == 1 ? list[0].description : "{ " + list.map(\.description).joined(separator: ", ") + " }"
        }
        return "\(family == .ipv6 ? "ip6" : "ip") \(field.rawValue) \(value)"
    }

    /// Where the field is in the network header, and how long.
    static func location(_ field: Field, _ family: IPFamily) -> (offset: UInt32, length: UInt32) {
        switch (family, field) {
        case (.ipv4, .saddr): (12, 4)
        case (.ipv4, .daddr): (16, 4)
        case (.ipv6, .saddr): (8, 16)
        case (.ipv6, .daddr): (24, 16)
        }
    }

    static func bytes(_ address: IPAddress) -> [UInt8] {
        let count = address.family == .ipv4 ? 4 : 16
        return (0..<count).map { UInt8(truncatingIfNeeded: address.value >> UInt128(8 * (count - 1 - $0))) }
    }

    static func address(_ bytes: [UInt8]) -> IPAddress? {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        return IPAddress(
            family: bytes.count == 4 ? .ipv4 : .ipv6, value: bytes.reduce(UInt128(0)) { ($0 << 8) | UInt128($1) })
    }

    func netlink() throws -> [NetlinkExpression] {
        guard let family else { throw UnsupportedConstruct(reason: "an address match without a family") }
        let (offset, length) = Self.location(field, family)
        let load = NetlinkExpression.load(payload: NFT_PAYLOAD_NETWORK_HEADER, offset: offset, length: length)
        switch match {
        case .set(let name): return [load, .lookUp(.named(name))]
        case .addresses(let list):
            guard list.count > 1 else { return [load, .compare(NFT_CMP_EQ, Self.bytes(list[0]))] }
            // nft writes `{ a, b }` as an anonymous set of addresses.
            let elements = list.map { AnonymousSet.Element(key: Self.bytes($0)) }
            let set = AnonymousSet(
                keyType: AddressSetSpelling.keyType(family), keyLength: length, elements: elements)
            return [load, .lookUp(.anonymous(set))]
        }
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: NetworkAddressMatch, count: Int)? {
        guard let family = rule.family, expressions.count >= 2,
            case .payload(let base, let offset, let length, _) = expressions.first,
            base == NFT_PAYLOAD_NETWORK_HEADER.rawValue,
            let field = [Field.saddr, .daddr].first(where: { location($0, family) == (offset, length) })
        else { return nil }
        switch expressions[expressions.startIndex + 1] {
        case .lookup(_, .named(let name), _):
            return (NetworkAddressMatch(field: field, family: family, match: .set(name)), 2)
        case .cmp(_, _, let data):
            guard let address = address(data) else { return nil }
            return (NetworkAddressMatch(field: field, family: family, match: .addresses([address])), 2)
        case .lookup(_, .anonymous(let set), _):
            let list = set.plainKeys?.compactMap(address) ?? []
            guard list.count > 1, list.count == set.elements.count else { return nil }
            return (NetworkAddressMatch(field: field, family: family, match: .addresses(list)), 2)
        default:
            return nil
        }
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: NetworkAddressMatch, count: Int)? {
        guard let first = expressions.first, let match = NftJSON.match(first), match.op == "==",
            let (proto, name) = NftJSON.payload(match), proto == "ip" || proto == "ip6",
            let field = Field(rawValue: name)
        else { return nil }
        let family: IPFamily = proto == "ip" ? .ipv4 : .ipv6
        // `{ a, b }`: every element a plain address of the family (a range or prefix is not sitewall's).
        if let items = (match.right as? [String: Any])?["set"] as? [Any] {
            let list = items.compactMap { ($0 as? String).flatMap(IPAddress.init) }.filter { $0.family == family }
            guard list.count == items.count, list.count > 1 else { return nil }
            return (NetworkAddressMatch(field: field, family: family, match: .addresses(list.sorted())), 1)
        }
        guard let text = match.right as? String else { return nil }
        if text.hasPrefix("@") {
            return (NetworkAddressMatch(field: field, family: family, match: .set(String(text.dropFirst()))), 1)
        }
        guard let address = IPAddress(text), address.family == family else { return nil }
        return (NetworkAddressMatch(field: field, family: family, match: .addresses([address])), 1)
    }
}

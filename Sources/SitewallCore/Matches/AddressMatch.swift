import CNftnl

/// `ip saddr @hosts`, `ip6 daddr fd00::1`, `ip daddr 239.192.0.0/14`: a source or destination
/// address against a named set, literal addresses or one network. Read back only after the family check that gives the offsets their
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
        case .network(let network): value = network.description
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
        case .network(let network):
            let bytes = Self.bytes(network.address)
            let prefix = network.prefixLength
            // nft loads only the prefix's bytes when it ends on a byte, and masks the last one otherwise.
            if prefix % 8 == 0 {
                guard prefix > 0 else { throw UnsupportedConstruct(reason: "the network \(network)") }
                let used = UInt32(prefix / 8)
                return [
                    .load(payload: NFT_PAYLOAD_NETWORK_HEADER, offset: offset, length: used),
                    .compare(NFT_CMP_EQ, Array(bytes.prefix(prefix / 8))),
                ]
            }
            let mask = (0..<Int(length)).map { i -> UInt8 in
                let bits = min(max(prefix - 8 * i, 0), 8)
                return bits == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            }
            return [
                load,
                .bitwise(
                    sreg: NetlinkExpression.register, dreg: NetlinkExpression.register, length: length, mask: mask,
                    xor: [UInt8](repeating: 0, count: Int(length))),
                .compare(NFT_CMP_EQ, bytes),
            ]
        }
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: NetworkAddressMatch, count: Int)? {
        guard let family = rule.family, expressions.count >= 2,
            case .payload(let base, let offset, let length, _) = expressions.first,
            base == NFT_PAYLOAD_NETWORK_HEADER.rawValue
        else { return nil }
        let width = UInt32(family.bitWidth / 8)
        // A byte-aligned network: a shorter load of the field's first bytes.
        if let field = [Field.saddr, .daddr].first(where: { location($0, family).offset == offset }), length < width,
            case .cmp(_, _, let data) = expressions[expressions.startIndex + 1], data.count == Int(length),
            let address = address(data + [UInt8](repeating: 0, count: Int(width - length))),
            let network = IPNetwork(address: address, prefixLength: Int(length) * 8)
        {
            return (NetworkAddressMatch(field: field, family: family, match: .network(network)), 2)
        }
        guard let field = [Field.saddr, .daddr].first(where: { location($0, family) == (offset, length) }) else {
            return nil
        }
        if case .bitwise(_, _, _, let mask, _) = expressions[expressions.startIndex + 1], expressions.count >= 3,
            case .cmp(_, _, let data) = expressions[expressions.startIndex + 2], let address = address(data),
            let network = IPNetwork(address: address, prefixLength: mask.reduce(0) { $0 + $1.nonzeroBitCount })
        {
            // The mask and xor are checked when the rule is encoded again and compared.
            return (NetworkAddressMatch(field: field, family: family, match: .network(network)), 3)
        }
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
        if let prefix = (match.right as? [String: Any])?["prefix"] as? [String: Any],
            let text = prefix["addr"] as? String, let length = prefix["len"] as? Int,
            let address = IPAddress(text), address.family == family,
            let network = IPNetwork(address: address, prefixLength: length)
        {
            return (NetworkAddressMatch(field: field, family: family, match: .network(network)), 1)
        }
        guard let text = match.right as? String else { return nil }
        if text.hasPrefix("@") {
            return (NetworkAddressMatch(field: field, family: family, match: .set(String(text.dropFirst()))), 1)
        }
        guard let address = IPAddress(text), address.family == family else { return nil }
        return (NetworkAddressMatch(field: field, family: family, match: .addresses([address])), 1)
    }
}

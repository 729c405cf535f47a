import CNftnl

#if canImport(Glibc)
    import Glibc
#endif

/// The layer-4 protocol and its ports: `tcp dport 502`, `udp sport 47808 udp dport 47808`,
/// `tcp dport 1000-2000`, `tcp dport { 20, 21 }`, or `meta l4proto udp` (`igmp`) without ports.
struct PortMatch: RulePart, Equatable {
    var transport: Transport
    var sport: PortSet?
    var dport: PortSet?

    /// nft's datatype id for ports (`inet_service`), which anonymous port sets carry.
    static let serviceType: UInt32 = 13

    static func parts(of rule: Rule) -> [PortMatch] {
        // ICMP echo is its own kind (ICMPEchoMatch).
        guard let transport = rule.transport, transport != .icmp else { return [] }
        return [PortMatch(transport: transport, sport: rule.sport, dport: rule.dport)]
    }

    func apply(to rule: inout Rule) {
        rule.transport = transport
        rule.sport = sport
        rule.dport = dport
    }

    static func text(_ set: PortSet) -> String {
        set.ranges.count == 1
            ? set.ranges[0].description : "{ " + set.ranges.map(\.description).joined(separator: ", ") + " }"
    }

    func nft(in rule: Rule) -> String? {
        var parts: [String] = []
        if let sport { parts.append("\(transport.rawValue) sport \(Self.text(sport))") }
        if let dport { parts.append("\(transport.rawValue) dport \(Self.text(dport))") }
        return parts.isEmpty ? "meta l4proto \(transport.rawValue)" : parts.joined(separator: " ")
    }

    static func number(_ transport: Transport) -> UInt8 {
        switch transport {
        case .tcp: UInt8(IPPROTO_TCP)
        case .udp: UInt8(IPPROTO_UDP)
        case .icmp: UInt8(IPPROTO_ICMP)
        case .igmp: UInt8(IPPROTO_IGMP)
        }
    }

    func netlink() throws -> [NetlinkExpression] {
        var out: [NetlinkExpression] = [.load(meta: NFT_META_L4PROTO), .compare(NFT_CMP_EQ, [Self.number(transport)])]
        if let sport, let dport, sport.isSinglePort, dport.isSinglePort {
            // nft merges two adjacent exact port matches into one 4-byte load.
            out.append(.load(payload: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 0, length: 4))
            out.append(.compare(NFT_CMP_EQ, Bytes.be16(sport.ranges[0].lower) + Bytes.be16(dport.ranges[0].lower)))
            return out
        }
        for (ports, offset) in [(sport, UInt32(0)), (dport, UInt32(2))] {
            guard let ports else { continue }
            out.append(.load(payload: NFT_PAYLOAD_TRANSPORT_HEADER, offset: offset, length: 2))
            if ports.ranges.count == 1 {
                let range = ports.ranges[0]
                if range.isSingle {
                    out.append(.compare(NFT_CMP_EQ, Bytes.be16(range.lower)))
                } else {
                    out.append(.compare(NFT_CMP_GTE, Bytes.be16(range.lower)))
                    out.append(.compare(NFT_CMP_LTE, Bytes.be16(range.upper)))
                }
            } else {
                guard ports.ranges.allSatisfy(\.isSingle) else {
                    throw UnsupportedConstruct(reason: "a list of port ranges (\(ports)); use --target nft")
                }
                let elements = ports.ranges.map { AnonymousSet.Element(key: Bytes.be16($0.lower)) }
                out.append(
                    .lookUp(.anonymous(AnonymousSet(keyType: Self.serviceType, keyLength: 2, elements: elements))))
            }
        }
        return out
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: PortMatch, count: Int)? {
        guard expressions.count >= 2, case .meta(let key, _) = expressions.first, key == NFT_META_L4PROTO.rawValue,
            case .cmp(_, _, let data) = expressions[expressions.startIndex + 1],
            let transport = [Transport.tcp, .udp, .igmp].first(where: { [number($0)] == data })
        else { return nil }
        var part = PortMatch(transport: transport)
        var i = expressions.startIndex + 2
        func at(_ index: Int) -> NetlinkExpression? { index < expressions.endIndex ? expressions[index] : nil }
        while case .payload(let base, let offset, let length, _)? = at(i), base == NFT_PAYLOAD_TRANSPORT_HEADER.rawValue
        {
            if offset == 0, length == 4, case .cmp(_, _, let value)? = at(i + 1), value.count == 4 {
                guard let low = Bytes.be16(value[0..<2]), let high = Bytes.be16(value[2..<4]) else { return nil }
                part.sport = PortSet(low)
                part.dport = PortSet(high)
                i += 2
                continue
            }
            guard length == 2, offset == 0 || offset == 2 else { break }
            let ports: PortSet
            if case .cmp(_, let op, let low)? = at(i + 1), op == NFT_CMP_GTE.rawValue,
                case .cmp(_, _, let high)? = at(i + 2),
                let lower = Bytes.be16(low[...]), let upper = Bytes.be16(high[...])
            {
                ports = PortSet([PortRange(lower, upper)])
                i += 3
            } else if case .cmp(_, _, let value)? = at(i + 1), let port = Bytes.be16(value[...]) {
                ports = PortSet(port)
                i += 2
            } else if case .lookup(_, .anonymous(let set), _)? = at(i + 1), let keys = set.plainKeys {
                ports = PortSet(keys.compactMap { Bytes.be16($0[...]).map { PortRange($0) } })
                i += 2
            } else {
                return nil
            }
            if offset == 0 { part.sport = ports } else { part.dport = ports }
        }
        return (part, i - expressions.startIndex)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: PortMatch, count: Int)? {
        guard let first = expressions.first, let match = NftJSON.match(first) else { return nil }
        if NftJSON.metaKey(match) == "l4proto", match.op == "==" {
            guard let transport = (match.right as? String).flatMap(Transport.init(rawValue:)), transport != .icmp
            else { return nil }
            return (PortMatch(transport: transport), 1)
        }
        var part: PortMatch?
        var count = 0
        for expression in expressions {
            guard let match = NftJSON.match(expression), match.op == "==", let (proto, field) = NftJSON.payload(match),
                let transport = Transport(rawValue: proto), transport != .icmp,
                part == nil || part?.transport == transport,
                field == "sport" || field == "dport", let ports = ports(json: match.right)
            else { break }
            var next = part ?? PortMatch(transport: transport)
            if field == "sport" { next.sport = ports } else { next.dport = ports }
            part = next
            count += 1
        }
        return part.map { ($0, count) }
    }

    /// 502, {"range": [1000, 2000]} or {"set": [20, 21]}.
    static func ports(json value: Any?) -> PortSet? {
        func port(_ any: Any?) -> UInt16? { (any as? Int).flatMap { UInt16(exactly: $0) } }
        if let single = port(value) { return PortSet(single) }
        if let range = (value as? [String: Any])?["range"] as? [Any], range.count == 2,
            let low = port(range[0]), let high = port(range[1])
        {
            return PortSet([PortRange(low, high)])
        }
        if let list = (value as? [String: Any])?["set"] as? [Any] {
            let singles = list.compactMap(port)
            guard singles.count == list.count, !singles.isEmpty else { return nil }
            return PortSet(singles.map { PortRange($0) })
        }
        return nil
    }
}

import CNftnl

#if canImport(Glibc)
    import Glibc
#endif

/// `iif "lo"` (by index, resolved when the rule is loaded), `iifname "eth2"` (by name; a name
/// ending in `*` is a prefix match), and the same for the output interface.
struct InterfaceMatch: RulePart, Equatable {
    enum Key: String, CaseIterable, Sendable {
        case iif, iifname, oif, oifname

        var meta: nft_meta_keys {
            switch self {
            case .iif: NFT_META_IIF
            case .iifname: NFT_META_IIFNAME
            case .oif: NFT_META_OIF
            case .oifname: NFT_META_OIFNAME
            }
        }

        var byIndex: Bool { self == .iif || self == .oif }

        func value(in rule: Rule) -> String? {
            switch self {
            case .iif: rule.iif
            case .iifname: rule.iifname
            case .oif: rule.oif
            case .oifname: rule.oifname
            }
        }
    }

    var key: Key
    var name: String

    /// IFNAMSIZ: a name and its NUL.
    static let nameSize = 16

    static func parts(of rule: Rule) -> [InterfaceMatch] {
        Key.allCases.compactMap { key in key.value(in: rule).map { InterfaceMatch(key: key, name: $0) } }
    }

    func apply(to rule: inout Rule) {
        switch key {
        case .iif: rule.iif = name
        case .iifname: rule.iifname = name
        case .oif: rule.oif = name
        case .oifname: rule.oifname = name
        }
    }

    func nft(in rule: Rule) -> String? { "\(key.rawValue) \"\(name)\"" }

    func netlink() throws -> [NetlinkExpression] {
        let data: [UInt8]
        if key.byIndex {
            let index = if_nametoindex(name)
            guard index != 0 else {
                throw UnsupportedConstruct(reason: "interface '\(name)', which does not exist here")
            }
            data = Bytes.host32(index)
        } else if name.hasSuffix("*") {
            data = Array(name.dropLast().utf8.prefix(Self.nameSize - 1))
        } else {
            let bytes = Array(name.utf8.prefix(Self.nameSize - 1))
            data = bytes + [UInt8](repeating: 0, count: Self.nameSize - bytes.count)
        }
        return [.load(meta: key.meta), .compare(NFT_CMP_EQ, data)]
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: InterfaceMatch, count: Int)? {
        guard expressions.count >= 2, case .meta(let metaKey, _) = expressions.first,
            let key = Key.allCases.first(where: { $0.meta.rawValue == metaKey }),
            case .cmp(_, let op, let data) = expressions[expressions.startIndex + 1], op == NFT_CMP_EQ.rawValue
        else { return nil }
        if key.byIndex {
            guard let index = Bytes.host32(data) else { return nil }
            var buffer = [CChar](repeating: 0, count: Self.nameSize)
            let name = if_indextoname(index, &buffer) != nil ? Nftnl.cString(buffer) : "#\(index)"
            return (InterfaceMatch(key: key, name: name), 2)
        }
        // A name without its NUL is a prefix match: nft's "eth2*".
        let name = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self) + (data.contains(0) ? "" : "*")
        return (InterfaceMatch(key: key, name: name), 2)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: InterfaceMatch, count: Int)? {
        guard let first = expressions.first, let match = NftJSON.match(first), match.op == "==",
            let key = NftJSON.metaKey(match).flatMap(Key.init(rawValue:)), let name = match.right as? String
        else { return nil }
        return (InterfaceMatch(key: key, name: name), 1)
    }
}

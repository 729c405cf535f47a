import CNftnl

#if canImport(Glibc)
    import Glibc
#endif

/// The spellings of the table's other objects (chains' hooks, address sets, conntrack helpers),
/// kept with the match kinds so that every netlink number sitewall uses has one place.
extension Hook {
    /// NF_INET_* (the inet family's hooks).
    var number: UInt32 {
        switch self {
        case .prerouting: UInt32(NF_INET_PRE_ROUTING.rawValue)
        case .input: UInt32(NF_INET_LOCAL_IN.rawValue)
        case .forward: UInt32(NF_INET_FORWARD.rawValue)
        case .output: UInt32(NF_INET_LOCAL_OUT.rawValue)
        case .postrouting: UInt32(NF_INET_POST_ROUTING.rawValue)
        }
    }

    static let all: [Hook] = [.prerouting, .input, .forward, .output, .postrouting]

    init?(number: UInt32) {
        guard let hook = Hook.all.first(where: { $0.number == number }) else { return nil }
        self = hook
    }
}

extension ChainPolicy {
    var verdict: UInt32 { UInt32(self == .accept ? NF_ACCEPT : NF_DROP) }
}

/// Named address sets: nft's key types and names for them.
enum AddressSetSpelling {
    /// nft's datatype ids (`ipv4_addr`, `ipv6_addr`), which `nft list` prints the keys by.
    static let ipv4Type: UInt32 = 7
    static let ipv6Type: UInt32 = 8

    /// nft's BYTEORDER_BIG_ENDIAN, which it keeps in a set's user data to print the keys by.
    static let bigEndian: UInt32 = 2

    static func keyType(_ family: IPFamily) -> UInt32 { family == .ipv4 ? ipv4Type : ipv6Type }
    static func family(keyType: UInt32, keyLength: UInt32) -> IPFamily? {
        IPFamily.allCases.first { self.keyType($0) == keyType && UInt32($0.bitWidth / 8) == keyLength }
    }
}

extension ConntrackHelper {
    var protocolNumber: UInt8 { PortMatch.number(transport) }
}

/// Netlink family numbers and the names nft gives them.
enum FamilySpelling {
    static let names: [UInt32: String] = [
        UInt32(NFPROTO_INET): "inet", UInt32(NFPROTO_IPV4): "ip", UInt32(NFPROTO_IPV6): "ip6",
        UInt32(NFPROTO_BRIDGE): "bridge", UInt32(NFPROTO_ARP): "arp", UInt32(NFPROTO_NETDEV): "netdev",
    ]
    static let inet = UInt32(NFPROTO_INET)

    static func name(_ number: UInt32) -> String { names[number] ?? "family \(number)" }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public enum IPFamily: String, Sendable, Codable, Hashable, Comparable, CaseIterable {
    case ipv4, ipv6

    public var bitWidth: Int { self == .ipv4 ? 32 : 128 }

    /// The last address of the family (255.255.255.255, ffff:...:ffff).
    public var maximum: UInt128 { self == .ipv4 ? UInt128(UInt32.max) : .max }

    public static func < (lhs: IPFamily, rhs: IPFamily) -> Bool { lhs == .ipv4 && rhs == .ipv6 }
}

/// An IPv4 or IPv6 address, kept as an integer so that prefixes and sorting are cheap.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let family: IPFamily
    // Two halves rather than a UInt128, whose 16-byte alignment makes an address 32 bytes instead of 24
    // (a site holds several per host).
    private let high: UInt64
    private let low: UInt64

    public var value: UInt128 { UInt128(high) << 64 | UInt128(low) }

    public init(family: IPFamily, value: UInt128) {
        self.family = family
        high = UInt64(truncatingIfNeeded: value >> 64)
        low = UInt64(truncatingIfNeeded: value)
    }

    /// Parses dotted IPv4 or RFC 4291 IPv6 text; nil if it is neither.
    public init?(_ text: some StringProtocol) {
        if let value = Self.dottedQuad(text.utf8) {
            self.init(family: .ipv4, value: UInt128(value))
            return
        }
        guard text.utf8.contains(UInt8(ascii: ":")) else { return nil }
        var storage = in6_addr()
        guard inet_pton(AF_INET6, String(text), &storage) == 1 else { return nil }
        var value: UInt128 = 0
        withUnsafeBytes(of: &storage) { bytes in
            for byte in bytes { value = (value << 8) | UInt128(byte) }
        }
        self.init(family: .ipv6, value: value)
    }

    /// Four decimal octets 0-255 separated by dots, without leading zeros (010 would read as octal
    /// elsewhere); byte by byte, since a site of 50,000 hosts parses every address.
    static func dottedQuad(_ bytes: some Sequence<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        var leadingZero = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if leadingZero { return nil }
                if digits == 0 && byte == UInt8(ascii: "0") { leadingZero = true }
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                if digits > 3 || octet > 255 { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | octet
                (octet, digits, leadingZero, dots) = (0, 0, false, dots + 1)
            default:
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | octet
    }

    public var description: String {
        switch family {
        case .ipv4:
            let v = UInt32(truncatingIfNeeded: value)
            return "\(v >> 24).\((v >> 16) & 0xff).\((v >> 8) & 0xff).\(v & 0xff)"
        case .ipv6:
            var storage = in6_addr()
            withUnsafeMutableBytes(of: &storage) { bytes in
                for i in 0..<16 { bytes[i] = UInt8(truncatingIfNeeded: value >> UInt128(8 * (15 - i))) }
            }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &storage, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        (lhs.family, lhs.high, lhs.low) < (rhs.family, rhs.high, rhs.low)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPAddress(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not an IP address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An address prefix such as 10.10.2.0/24 or 2001:db8::/48.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible, Codable {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        let width = address.family.bitWidth
        var length = width
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...width).contains(parsed) else { return nil }
            length = parsed
        }
        // Host bits must be zero: 10.0.0.1/8 is almost always a typo for a host or a /32.
        guard address.value & IPNetwork.hostMask(width: width, prefix: length) == 0 else { return nil }
        self.address = address
        self.prefixLength = length
    }

    public var family: IPFamily { address.family }

    /// nil when the address has host bits set.
    public init?(address: IPAddress, prefixLength: Int) {
        guard (0...address.family.bitWidth).contains(prefixLength),
            address.value & IPNetwork.hostMask(width: address.family.bitWidth, prefix: prefixLength) == 0
        else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    static func hostMask(width: Int, prefix: Int) -> UInt128 {
        let hostBits = width - prefix
        return hostBits == 0 ? 0 : (hostBits >= 128 ? UInt128.max : (UInt128(1) << UInt128(hostBits)) - 1)
    }

    public func contains(_ other: IPAddress) -> Bool {
        guard other.family == family else { return false }
        let mask = IPNetwork.hostMask(width: family.bitWidth, prefix: prefixLength)
        return other.value & ~mask == address.value
    }

    /// The last address of the network.
    public var lastAddress: IPAddress {
        IPAddress(
            family: family, value: address.value | IPNetwork.hostMask(width: family.bitWidth, prefix: prefixLength))
    }

    /// The directed broadcast address (IPv4 only; IPv6 has none).
    public var broadcast: IPAddress? {
        guard family == .ipv4, prefixLength < 31 else { return nil }
        let mask = IPNetwork.hostMask(width: 32, prefix: prefixLength)
        return IPAddress(family: .ipv4, value: address.value | mask)
    }

    public var description: String { "\(address)/\(prefixLength)" }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let network = IPNetwork(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a network: \(text)"))
        }
        self = network
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension IPAddress {
    public static let limitedBroadcast = IPAddress(family: .ipv4, value: 0xffff_ffff)
    /// 0.0.0.0: the source of a host that has no address yet (a DHCP DISCOVER).
    public static let unspecifiedIPv4 = IPAddress(family: .ipv4, value: 0)
}

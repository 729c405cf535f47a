import Foundation

/// An inclusive range of TCP/UDP ports.
public struct PortRange: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let lower: UInt16
    public let upper: UInt16

    public init(_ lower: UInt16, _ upper: UInt16) {
        self.lower = min(lower, upper)
        self.upper = max(lower, upper)
    }

    public init(_ port: UInt16) { self.init(port, port) }

    public var isSingle: Bool { lower == upper }
    public var count: Int { Int(upper) - Int(lower) + 1 }

    public func contains(_ port: UInt16) -> Bool { (lower...upper).contains(port) }
    public func contains(_ other: PortRange) -> Bool { lower <= other.lower && other.upper <= upper }
    public func overlaps(_ other: PortRange) -> Bool { lower <= other.upper && other.lower <= upper }

    public var description: String { isSingle ? "\(lower)" : "\(lower)-\(upper)" }

    public static func < (lhs: PortRange, rhs: PortRange) -> Bool { (lhs.lower, lhs.upper) < (rhs.lower, rhs.upper) }
}

/// A normalised set of ports: sorted, merged ranges. "2080-2088,2073" and [2073, "2080-2088"] are equal.
public struct PortSet: Hashable, Sendable, CustomStringConvertible, Codable {
    public private(set) var ranges: [PortRange]

    public init(_ ranges: [PortRange]) {
        var merged: [PortRange] = []
        for range in ranges.sorted() {
            if let last = merged.last, Int(range.lower) <= Int(last.upper) + 1 {
                merged[merged.count - 1] = PortRange(last.lower, max(last.upper, range.upper))
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    public init(_ port: UInt16) { self.init([PortRange(port)]) }

    /// Parses "2080", "2080-2088", "22004 and 22005", "2080-2088,2073", with en dashes too.
    public init?(text: String) {
        // A lone port of digits, the common case, without Foundation's string replacing.
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let port = UInt16(text)
        {
            self.init(port)
            return
        }
        let normalised = text.replacingOccurrences(of: "–", with: "-").replacingOccurrences(of: " and ", with: ",")
        var ranges: [PortRange] = []
        for item in normalised.split(separator: ",") {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard (1...2).contains(bounds.count), let low = UInt16(bounds[0]) else { return nil }
            let high = bounds.count == 2 ? UInt16(bounds[1]) : low
            guard let high, low <= high else { return nil }
            ranges.append(PortRange(low, high))
        }
        guard !ranges.isEmpty else { return nil }
        self.init(ranges)
    }

    public var isEmpty: Bool { ranges.isEmpty }
    public var portCount: Int { ranges.reduce(0) { $0 + $1.count } }
    public var isSinglePort: Bool { ranges.count == 1 && ranges[0].isSingle }

    public func contains(_ port: UInt16) -> Bool { ranges.contains { $0.contains(port) } }

    public func contains(_ other: PortSet) -> Bool {
        other.ranges.allSatisfy { inner in ranges.contains { $0.contains(inner) } }
    }

    public func overlaps(_ other: PortSet) -> Bool {
        ranges.contains { a in other.ranges.contains { a.overlaps($0) } }
    }

    public func intersection(_ other: PortSet) -> PortSet {
        var result: [PortRange] = []
        for a in ranges {
            for b in other.ranges where a.overlaps(b) {
                result.append(PortRange(max(a.lower, b.lower), min(a.upper, b.upper)))
            }
        }
        return PortSet(result)
    }

    public func union(_ other: PortSet) -> PortSet { PortSet(ranges + other.ranges) }

    public var description: String { ranges.map(\.description).joined(separator: ",") }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let set = PortSet(text: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a port set: \(text)"))
        }
        self = set
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public enum Transport: String, Sendable, Codable, Hashable, Comparable, CaseIterable {
    case tcp, udp
    /// ICMP echo request (ping) in the rule's family (ICMPv6 for IPv6): the only ICMP a flow opens.
    /// ICMP errors about tracked connections (IPv6 packet-too-big) pass as related, with no rule.
    case icmp
    /// IGMP (IPv4 only): membership reports of a host that receives a multicast service. Never a
    /// service's transport; the compiler adds it where a multicast service is received.
    case igmp

    /// The transports that have ports.
    public static let ported: [Transport] = [.tcp, .udp]

    public static func < (lhs: Transport, rhs: Transport) -> Bool { lhs.rawValue < rhs.rawValue }
}

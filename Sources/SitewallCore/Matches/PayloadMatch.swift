import CNftnl

/// A raw match on a segment's payload (`@ih`: the bytes after the TCP or UDP header, wherever its
/// options end): how operation filters (Modbus function codes) look into a segment.
/// `@ih,32,32 & 0xffff00ff { 0x60003, ... }`, `@ih,96,8 >= 0x0` (the byte is there),
/// `@ih,64,8 != 0xe`. A segment too short for the bytes does not match, whatever the test.
public struct PayloadMatch: Sendable, Hashable, Codable, RulePart {
    public enum Test: String, Sendable, Hashable, Codable {
        /// The bytes are in the segment, whatever their value.
        case present
        /// The bytes (masked) are one of `values`.
        case oneOf = "one-of"
        /// The bytes (masked) are none of `values`.
        case noneOf = "none-of"
    }

    /// Offset and length in bytes from the start of the payload (at most 16 bytes, one register).
    public var offset: UInt32
    public var length: UInt32
    /// Bits that count (the rest are cleared before the test); nil: all of them.
    public var mask: [UInt8]?
    public var test: Test
    /// Big-endian values, each `length` bytes, sorted; empty for `present`.
    public var values: [[UInt8]]

    public init(offset: UInt32, length: UInt32, mask: [UInt8]? = nil, test: Test, values: [[UInt8]] = []) {
        self.offset = offset
        self.length = length
        self.mask = mask
        self.test = test
        self.values = values.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static func present(at offset: UInt32) -> PayloadMatch { PayloadMatch(offset: offset, length: 1, test: .present) }

    /// Whether a payload passes the test, as the kernel decides it (too short: no match).
    public func holds(in payload: [UInt8]) -> Bool {
        let end = Int(offset) + Int(length)
        guard end <= payload.count else { return false }
        var bytes = Array(payload[Int(offset)..<end])
        if let mask { bytes = zip(bytes, mask).map { $0 & $1 } }
        switch test {
        case .present: return true
        case .oneOf: return values.contains(bytes)
        case .noneOf: return !values.contains(bytes)
        }
    }

    // MARK: JSON of the policy: hex strings, as nft writes them.

    private enum CodingKeys: String, CodingKey { case offset, length, mask, test, values }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let length = try container.decode(UInt32.self, forKey: .length)
        func bytes(_ text: String, _ key: CodingKeys) throws -> [UInt8] {
            guard let value = Self.bytes(hex: text, length: Int(length)) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "'\(text)' is not \(length) bytes of hex")
            }
            return value
        }
        self.init(
            offset: try container.decode(UInt32.self, forKey: .offset), length: length,
            mask: try container.decodeIfPresent(String.self, forKey: .mask).map { try bytes($0, .mask) },
            test: try container.decode(Test.self, forKey: .test),
            values: try (container.decodeIfPresent([String].self, forKey: .values) ?? []).map { try bytes($0, .values) }
        )
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(offset, forKey: .offset)
        try container.encode(length, forKey: .length)
        try container.encodeIfPresent(mask.map(Self.hex), forKey: .mask)
        try container.encode(test, forKey: .test)
        if !values.isEmpty { try container.encode(values.map(Self.hex), forKey: .values) }
    }

    /// "0x5002b": nft's spelling of a raw value (no leading zeros).
    static func hex(_ bytes: [UInt8]) -> String {
        var digits = bytes.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst() }
        return "0x" + digits
    }

    /// "0x5002b" (or "5002b") as `length` big-endian bytes.
    static func bytes(hex text: String, length: Int) -> [UInt8]? {
        let digits = text.hasPrefix("0x") ? text.dropFirst(2) : Substring(text)
        guard !digits.isEmpty, digits.count <= length * 2 else { return nil }
        let padded = String(repeating: "0", count: length * 2 - digits.count) + digits
        var result: [UInt8] = []
        var index = padded.startIndex
        while index < padded.endIndex {
            let next = padded.index(index, offsetBy: 2)
            guard let byte = UInt8(padded[index..<next], radix: 16) else { return nil }
            result.append(byte)
            index = next
        }
        return result
    }

    /// An integer (as `nft -j` writes raw values) as `length` big-endian bytes.
    static func bytes(integer: Any?, length: Int) -> [UInt8]? {
        guard let value = integer as? Int, value >= 0, length <= 8 else { return nil }
        let number = UInt64(value)
        guard length == 8 || number >> (UInt64(length) * 8) == 0 else { return nil }
        return (0..<length).reversed().map { UInt8(truncatingIfNeeded: number >> (UInt64($0) * 8)) }
    }

    // MARK: RulePart

    static func parts(of rule: Rule) -> [PayloadMatch] { rule.payload ?? [] }

    func apply(to rule: inout Rule) { rule.payload = (rule.payload ?? []) + [self] }

    func nft(in rule: Rule) -> String? {
        var text = "@ih,\(offset * 8),\(length * 8)"
        if let mask { text += " & \(Self.hex(mask))" }
        let list = values.map(Self.hex)
        switch test {
        case .present: text += " >= 0x0"
        case .oneOf: text += list.count == 1 ? " == \(list[0])" : " { \(list.joined(separator: ", ")) }"
        case .noneOf: text += list.count == 1 ? " != \(list[0])" : " != { \(list.joined(separator: ", ")) }"
        }
        return text
    }

    /// nft's datatype id of raw values (`integer`), which their anonymous sets carry.
    static let integerType: UInt32 = 4

    func netlink() throws -> [NetlinkExpression] {
        guard length >= 1, length <= 16, mask.map({ $0.count == Int(length) }) ?? true,
            values.allSatisfy({ $0.count == Int(length) }), (test == .present) == values.isEmpty
        else { throw UnsupportedConstruct(reason: "a payload match of \(length) bytes that does not fit its values") }
        var out: [NetlinkExpression] = [.load(payload: NFT_PAYLOAD_INNER_HEADER, offset: offset, length: length)]
        if let mask {
            let register = NetlinkExpression.register
            out.append(
                .bitwise(
                    sreg: register, dreg: register, length: length, mask: mask,
                    xor: [UInt8](repeating: 0, count: Int(length))))
        }
        switch (test, values.count) {
        case (.present, _): out.append(.compare(NFT_CMP_GTE, [UInt8](repeating: 0, count: Int(length))))
        case (.oneOf, 1): out.append(.compare(NFT_CMP_EQ, values[0]))
        case (.noneOf, 1): out.append(.compare(NFT_CMP_NEQ, values[0]))
        default:
            var set = AnonymousSet(
                keyType: Self.integerType, keyLength: length, elements: values.map { AnonymousSet.Element(key: $0) })
            // nft keeps the key's expression with a set keyed by a bare payload (not a masked one).
            if mask == nil { set.keyTypeof = Self.typeof(offset: offset, length: length) }
            var lookup = NetlinkExpression.lookUp(.anonymous(set))
            if test == .noneOf, case .lookup(let sreg, let reference, _) = lookup {
                lookup = .lookup(sreg: sreg, set: reference, flags: NFT_LOOKUP_F_INV.rawValue)
            }
            out.append(lookup)
        }
        return out
    }

    /// nft 1.0.6's `typeof` user data of a set keyed by `@ih,OFFSET,LENGTH`: the expression kind
    /// (payload, 7), then its description (raw, type 0), base (nft's own number for the inner header,
    /// 4, not the kernel's 3), offset and length in bits, each a 32-bit value in the host's byte order,
    /// as type-length-value records.
    static func typeof(offset: UInt32, length: UInt32) -> [UInt8] {
        func record(_ type: UInt8, _ value: [UInt8]) -> [UInt8] { [type, UInt8(value.count)] + value }
        func u32(_ value: UInt32) -> [UInt8] { Bytes.host32(value) }
        let innerBase: UInt32 = 4
        let payload =
            record(0, u32(0)) + record(1, u32(0)) + record(2, u32(innerBase))
            + record(3, u32(offset * 8)) + record(4, u32(length * 8))
        return record(0, u32(7)) + record(1, payload)
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>, after rule: Rule
    ) -> (part: PayloadMatch, count: Int)? {
        var i = expressions.startIndex
        guard case .payload(let base, let offset, let length, _)? = expressions.first,
            base == NFT_PAYLOAD_INNER_HEADER.rawValue
        else { return nil }
        i += 1
        var mask: [UInt8]?
        if i < expressions.endIndex, case .bitwise(_, _, _, let bits, _) = expressions[i] {
            mask = bits
            i += 1
        }
        guard i < expressions.endIndex else { return nil }
        let part: PayloadMatch
        switch expressions[i] {
        case .cmp(_, let op, let data) where op == NFT_CMP_GTE.rawValue && data.allSatisfy({ $0 == 0 }):
            part = PayloadMatch(offset: offset, length: length, mask: mask, test: .present)
        case .cmp(_, let op, let data) where op == NFT_CMP_EQ.rawValue || op == NFT_CMP_NEQ.rawValue:
            part = PayloadMatch(
                offset: offset, length: length, mask: mask, test: op == NFT_CMP_EQ.rawValue ? .oneOf : .noneOf,
                values: [data])
        case .lookup(_, .anonymous(let set), let flags):
            guard let keys = set.plainKeys else { return nil }
            part = PayloadMatch(
                offset: offset, length: length, mask: mask,
                test: flags & NFT_LOOKUP_F_INV.rawValue != 0 ? .noneOf : .oneOf, values: keys)
        default:
            return nil
        }
        // The rest (registers, the xor, the set's type) is checked when the rule is encoded again.
        return (part, i + 1 - expressions.startIndex)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>, after rule: Rule
    ) -> (part: PayloadMatch, count: Int)? {
        guard let first = expressions.first, let match = NftJSON.match(first) else { return nil }
        var left = match.left
        var maskValue: Any?
        if let and = left["&"] as? [Any], and.count == 2, let inner = and[0] as? [String: Any] {
            left = inner
            maskValue = and[1]
        }
        guard let payload = left["payload"] as? [String: Any], payload["base"] as? String == "ih",
            let bitOffset = payload["offset"] as? Int, let bitLength = payload["len"] as? Int,
            bitOffset >= 0, bitOffset % 8 == 0, bitLength > 0, bitLength % 8 == 0, bitLength <= 64
        else { return nil }
        let length = bitLength / 8
        var mask: [UInt8]?
        if let maskValue {
            guard let bits = bytes(integer: maskValue, length: length) else { return nil }
            mask = bits
        }
        let offset = UInt32(bitOffset / 8)
        let values: [[UInt8]]
        if let list = (match.right as? [String: Any])?["set"] as? [Any] {
            let decoded = list.compactMap { bytes(integer: $0, length: length) }
            guard decoded.count == list.count, !decoded.isEmpty else { return nil }
            values = decoded
        } else if let single = bytes(integer: match.right, length: length) {
            values = [single]
        } else {
            return nil
        }
        switch match.op {
        case ">=" where values == [[UInt8](repeating: 0, count: length)]:
            return (PayloadMatch(offset: offset, length: UInt32(length), mask: mask, test: .present), 1)
        case "==", "in":
            return (PayloadMatch(offset: offset, length: UInt32(length), mask: mask, test: .oneOf, values: values), 1)
        case "!=":
            return (
                PayloadMatch(offset: offset, length: UInt32(length), mask: mask, test: .noneOf, values: values), 1
            )
        default:
            return nil
        }
    }
}

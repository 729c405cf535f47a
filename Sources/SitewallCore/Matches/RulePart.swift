/// One kind of match or statement of a rule, with every spelling of itself in one place: how a
/// `Rule` holds it, its nft text, the netlink expressions it encodes to and is read back from,
/// and its `nft -j` form. `RuleSpelling` puts the kinds together in the order nft writes them.
protocol RulePart: Sendable {
    /// The parts of this kind that `rule` has, in the order they are written.
    static func parts(of rule: Rule) -> [Self]
    /// Puts the part into a rule being read back.
    func apply(to rule: inout Rule)
    /// nft syntax, or nil when another part of `rule` implies it (`ip saddr` implies the family).
    func nft(in rule: Rule) -> String?
    /// The expressions, exactly as nft writes them for the same text.
    func netlink() throws -> [NetlinkExpression]
    /// Reads one part from the start of `expressions`, given the parts read so far; the number of
    /// expressions it took. Reading may be lenient: `RuleSpelling` re-encodes what was read and
    /// keeps it only when that gives back exactly the expressions read.
    static func read(netlink expressions: ArraySlice<NetlinkExpression>, after rule: Rule) -> (part: Self, count: Int)?
    /// Reads one part from the start of a rule's `nft -j` expressions.
    static func read(json expressions: ArraySlice<[String: Any]>, after rule: Rule) -> (part: Self, count: Int)?
}

/// A rule a backend cannot express (the site line that caused it is found by the caller).
struct UnsupportedConstruct: Error, CustomStringConvertible, Equatable {
    var reason: String
    var description: String { reason }
}

/// Helpers for reading `nft -j` matches: {"match": {"op": "==", "left": {...}, "right": ...}}.
enum NftJSON {
    struct Match {
        var op: String
        var left: [String: Any]
        var right: Any?
    }

    static func match(_ expression: [String: Any]) -> Match? {
        guard expression.count == 1, let match = expression["match"] as? [String: Any],
            let left = match["left"] as? [String: Any]
        else { return nil }
        return Match(op: match["op"] as? String ?? "==", left: left, right: match["right"])
    }

    /// `{"meta": {"key": K}}` on the left: K.
    static func metaKey(_ match: Match) -> String? { (match.left["meta"] as? [String: Any])?["key"] as? String }

    /// `{"payload": {"protocol": P, "field": F}}` on the left: (P, F).
    static func payload(_ match: Match) -> (protocol: String, field: String)? {
        guard let payload = match.left["payload"] as? [String: Any], let proto = payload["protocol"] as? String,
            let field = payload["field"] as? String
        else { return nil }
        return (proto, field)
    }
}

/// Byte spellings shared by the kinds.
enum Bytes {
    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
    static func be16(_ bytes: ArraySlice<UInt8>) -> UInt16? {
        guard bytes.count == 2 else { return nil }
        return UInt16(bytes[bytes.startIndex]) << 8 | UInt16(bytes[bytes.startIndex + 1])
    }
    /// A 32-bit value in the host's byte order (how the kernel keeps interface indexes and masks).
    static func host32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
    static func host32(_ bytes: [UInt8]) -> UInt32? {
        guard bytes.count == 4 else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }
}

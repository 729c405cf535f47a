/// A whole rule in each spelling, put together from its parts in the order nft writes them (and
/// lists them back). Reading a rule is exact by construction: what is read is encoded again and
/// kept only if that gives back exactly what was read; anything else is a foreign rule.
enum RuleSpelling {
    static let kinds: [any RulePart.Type] = [
        InterfaceMatch.self, FamilyMatch.self, NetworkAddressMatch.self, PortMatch.self, TCPFlagsMatch.self,
        PayloadMatch.self,
        ICMPEchoMatch.self,
        ICMPv6Match.self, CtStateMatch.self, CounterStatement.self, LimitStatement.self, LogStatement.self,
        HelperStatement.self, VerdictStatement.self,
    ]

    static func parts(of rule: Rule) -> [any RulePart] { kinds.flatMap { $0.anyParts(of: rule) } }

    /// One rule in nft syntax, comment included.
    static func nft(_ rule: Rule) -> String {
        if let foreign = rule.foreign {
            return foreign + (rule.comment.map { " comment \"\(RuleComment.clip($0))\"" } ?? "")
        }
        var words = parts(of: rule).compactMap { $0.nft(in: rule) }
        if let comment = rule.comment, !comment.isEmpty { words.append("comment \"\(RuleComment.clip(comment))\"") }
        return words.joined(separator: " ")
    }

    /// The expressions of one rule, in order.
    static func netlink(_ rule: Rule) throws -> [NetlinkExpression] {
        guard rule.foreign == nil else { throw UnsupportedConstruct(reason: "a rule sitewall did not write") }
        return try parts(of: rule).flatMap { try $0.netlink() }
    }

    /// The rule `expressions` are, when sitewall writes exactly those expressions for it; nil otherwise.
    static func read(netlink expressions: [NetlinkExpression]) -> Rule? {
        var rule = Rule(verdict: .accept)
        var index = 0
        for kind in kinds {
            while index < expressions.count,
                let (part, count) = kind.anyRead(netlink: expressions[index...], after: rule),
                count > 0
            {
                part.apply(to: &rule)
                index += count
            }
        }
        guard index == expressions.count, (try? netlink(rule)) == expressions else { return nil }
        return rule
    }

    /// The rule a list of `nft -j` expressions is, when every one of them is a part sitewall writes,
    /// each part at most once (implied parts, such as the family of `ip saddr`, not at all), ending in a verdict;
    /// nil otherwise.
    static func read(json expressions: [[String: Any]]) -> Rule? {
        var rule = Rule(verdict: .accept)
        var index = 0
        var partsRead = 0
        for kind in kinds {
            while index < expressions.count, let (part, count) = kind.anyRead(json: expressions[index...], after: rule),
                count > 0
            {
                part.apply(to: &rule)
                index += count
                partsRead += 1
            }
        }
        guard index == expressions.count, let last = expressions.last,
            VerdictStatement.read(json: [last][...], after: rule) != nil,
            parts(of: rule).filter({ $0.nft(in: rule) != nil }).count == partsRead
        else { return nil }
        return rule
    }
}

extension RulePart {
    static func anyParts(of rule: Rule) -> [any RulePart] { parts(of: rule) }

    static func anyRead(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: any RulePart, count: Int)? {
        read(netlink: expressions, after: rule).map { ($0.part, $0.count) }
    }

    static func anyRead(json expressions: ArraySlice<[String: Any]>, after rule: Rule) -> (
        part: any RulePart, count: Int
    )? {
        read(json: expressions, after: rule).map { ($0.part, $0.count) }
    }
}

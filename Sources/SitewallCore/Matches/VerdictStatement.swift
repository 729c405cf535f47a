import CNftnl

/// `accept` or `drop`: the last expression of every rule sitewall writes.
struct VerdictStatement: RulePart, Equatable {
    var verdict: Verdict

    static func parts(of rule: Rule) -> [VerdictStatement] { [VerdictStatement(verdict: rule.verdict)] }

    func apply(to rule: inout Rule) { rule.verdict = verdict }

    func nft(in rule: Rule) -> String? { verdict.rawValue }

    var code: Int32 { verdict == .accept ? NF_ACCEPT : NF_DROP }

    func netlink() throws -> [NetlinkExpression] { [.verdict(code)] }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: VerdictStatement, count: Int)? {
        guard case .verdict(let code) = expressions.first,
            let verdict = [Verdict.accept, .drop].first(where: { VerdictStatement(verdict: $0).code == code })
        else { return nil }
        return (VerdictStatement(verdict: verdict), 1)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: VerdictStatement, count: Int)? {
        guard let first = expressions.first, first.count == 1,
            let verdict = [Verdict.accept, .drop].first(where: { first.keys.contains($0.rawValue) })
        else { return nil }
        return (VerdictStatement(verdict: verdict), 1)
    }
}

import CNftnl

/// `limit rate 10/second`: a token bucket of packets (burst 5, nft's default, which nft then
/// leaves out of the text). Packets over the rate do not match and meet the chain's policy.
struct LimitStatement: RulePart, Equatable {
    var limit: RateLimit

    static func parts(of rule: Rule) -> [LimitStatement] { rule.limit.map { [LimitStatement(limit: $0)] } ?? [] }

    func apply(to rule: inout Rule) { rule.limit = limit }

    func nft(in rule: Rule) -> String? { "limit rate \(limit)" }

    func netlink() throws -> [NetlinkExpression] {
        [
            .limit(
                rate: UInt64(limit.rate), unit: limit.per.seconds, burst: RateLimit.burst,
                type: NFT_LIMIT_PKTS.rawValue, flags: 0)
        ]
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: LimitStatement, count: Int)? {
        guard case .limit(let rate, let unit, _, _, _) = expressions.first, let rate = UInt32(exactly: rate),
            let per = [RateLimit.Unit.second, .minute].first(where: { $0.seconds == unit })
        else { return nil }
        // Burst, type and flags are checked when the rule is encoded again and compared.
        return (LimitStatement(limit: RateLimit(rate: rate, per: per)), 1)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: LimitStatement, count: Int)? {
        guard let first = expressions.first, first.count == 1, let body = first["limit"] as? [String: Any],
            let rate = (body["rate"] as? Int).flatMap({ UInt32(exactly: $0) }),
            let per = (body["per"] as? String).flatMap(RateLimit.Unit.init(rawValue:)),
            (body["burst"] as? Int ?? Int(RateLimit.burst)) == Int(RateLimit.burst),
            Set(body.keys).isSubset(of: ["rate", "per", "burst"])
        else { return nil }
        return (LimitStatement(limit: RateLimit(rate: rate, per: per)), 1)
    }
}

/// `log prefix "sitewall drop a->b: "` (the kernel log) or `log prefix "..." group 5` (NFLOG, for a
/// collector). Without a group the level is written as the kernel reports it (warning), so that a rule
/// read back encodes to the same expressions.
struct LogStatement: RulePart, Equatable {
    var log: LogAction

    /// syslog's LOG_WARNING: the kernel's level for `log` without one (nft leaves it out of the text).
    static let warning: UInt32 = 4

    static func parts(of rule: Rule) -> [LogStatement] { rule.log.map { [LogStatement(log: $0)] } ?? [] }

    func apply(to rule: inout Rule) { rule.log = log }

    func nft(in rule: Rule) -> String? {
        "log prefix \"\(log.prefix)\"" + (log.group.map { " group \($0)" } ?? "")
    }

    func netlink() throws -> [NetlinkExpression] {
        [.log(prefix: log.prefix, group: log.group, level: log.group == nil ? Self.warning : nil)]
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: LogStatement, count: Int)? {
        guard case .log(let prefix, let group, _) = expressions.first else { return nil }
        // The level is checked when the rule is encoded again and compared.
        return (LogStatement(log: LogAction(prefix: prefix, group: group)), 1)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: LogStatement, count: Int)? {
        guard let first = expressions.first, first.count == 1, let body = first["log"] as? [String: Any],
            let prefix = body["prefix"] as? String, Set(body.keys).isSubset(of: ["prefix", "group", "level"]),
            (body["level"] as? String ?? "warn") == "warn"
        else { return nil }
        let group = (body["group"] as? Int).flatMap { UInt16(exactly: $0) }
        if body["group"] != nil && group == nil { return nil }
        return (LogStatement(log: LogAction(prefix: prefix, group: group)), 1)
    }
}

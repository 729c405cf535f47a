import CNftnl

/// `ct helper set "ftp"`: attaches the table's conntrack helper object to the connection.
struct HelperStatement: RulePart, Equatable {
    var helper: ConntrackHelper

    static func parts(of rule: Rule) -> [HelperStatement] { rule.helper.map { [HelperStatement(helper: $0)] } ?? [] }

    func apply(to rule: inout Rule) { rule.helper = helper }

    func nft(in rule: Rule) -> String? { "ct helper set \"\(helper.rawValue)\"" }

    func netlink() throws -> [NetlinkExpression] {
        [.objref(type: UInt32(NFT_OBJECT_CT_HELPER), name: helper.rawValue)]
    }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: HelperStatement, count: Int)? {
        guard case .objref(let type, let name) = expressions.first, type == UInt32(NFT_OBJECT_CT_HELPER),
            let helper = ConntrackHelper(rawValue: name)
        else { return nil }
        return (HelperStatement(helper: helper), 1)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: HelperStatement, count: Int)? {
        guard let first = expressions.first, first.count == 1,
            let helper = (first["ct helper"] as? String).flatMap(ConntrackHelper.init(rawValue:))
        else { return nil }
        return (HelperStatement(helper: helper), 1)
    }
}

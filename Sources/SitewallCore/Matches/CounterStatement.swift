import CNftnl

/// `counter name "c_modbus_forward_1a2b3c4d"`: counts every packet that reaches this point of the rule
/// into one of the table's named counters, which `sitewall stats` reads back and `apply` carries over.
struct CounterStatement: RulePart, Equatable {
    var name: String

    static func parts(of rule: Rule) -> [CounterStatement] { rule.counter.map { [CounterStatement(name: $0)] } ?? [] }

    func apply(to rule: inout Rule) { rule.counter = name }

    func nft(in rule: Rule) -> String? { "counter name \"\(name)\"" }

    func netlink() throws -> [NetlinkExpression] { [.objref(type: UInt32(NFT_OBJECT_COUNTER), name: name)] }

    static func read(
        netlink expressions: ArraySlice<NetlinkExpression>,
        after rule: Rule
    ) -> (part: CounterStatement, count: Int)? {
        guard case .objref(let type, let name) = expressions.first, type == UInt32(NFT_OBJECT_COUNTER) else {
            return nil
        }
        return (CounterStatement(name: name), 1)
    }

    static func read(
        json expressions: ArraySlice<[String: Any]>,
        after rule: Rule
    ) -> (part: CounterStatement, count: Int)? {
        // nft -j writes a reference to a named counter as {"counter": "NAME"} (an anonymous one as an object).
        guard let first = expressions.first, first.count == 1, let name = first["counter"] as? String else {
            return nil
        }
        return (CounterStatement(name: name), 1)
    }
}

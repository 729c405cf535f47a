/// SSH sessions that were open before conntrack tracked anything (the first `apply` on a machine that ran
/// no firewall, over the very session that runs it) are picked up mid-stream: conntrack calls the
/// server's next segment new, in the direction from the server's port, and a drop policy would stall
/// the session until the rollback timer undid the apply. For every SSH flow a table accepts, its reply
/// direction is accepted for segments without SYN: the session goes on, and no connection can be opened
/// that way.
enum SessionPickup {
    static let service = "ssh/ssh"

    static func apply(to table: inout Table) {
        for (accepting, replying) in [("input", "output"), ("forward", "forward")] {
            guard let from = table.chains.firstIndex(where: { $0.name == accepting }),
                let to = table.chains.firstIndex(where: { $0.name == replying })
            else { continue }
            let replies = table.chains[from].rules.compactMap(reply)
            table.chains[to].rules += replies
        }
    }

    static func reply(to rule: Rule) -> Rule? {
        guard let origin = rule.origin, origin.kind == .flow, origin.service == service, rule.verdict == .accept,
            rule.transport == .tcp, rule.payload == nil, rule.sport == nil, let ports = rule.dport
        else { return nil }
        var reply = Rule(verdict: .accept)
        reply.family = rule.family
        reply.iifname = rule.oifname
        reply.oifname = rule.iifname
        reply.saddr = rule.daddr
        reply.daddr = rule.saddr
        reply.transport = .tcp
        reply.sport = ports
        reply.withoutSYN = true
        reply.comment = "\(service) replies of sessions open before conntrack tracked them (never a SYN)"
        reply.origin = RuleOrigin(
            kind: .baseline, service: service, initiatorRoles: origin.listenerRoles,
            listenerRoles: origin.initiatorRoles,
            fromZone: origin.toZone, toZone: origin.fromZone, citations: origin.citations)
        return reply
    }
}

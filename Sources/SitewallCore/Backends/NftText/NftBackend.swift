/// Renders a policy as an `nft -f` script that replaces sitewall's table atomically:
/// the script creates the table (so the delete cannot fail), deletes it and defines it anew,
/// all in one transaction; other tables are never named.
public enum NftBackend: TextBackend {
    public static let name = "nft"
    public static let fileSuffix = "nft"

    public static func render(_ policy: Policy) -> String {
        let table = policy.table
        var out = "#!/usr/sbin/nft -f\n"
        out += "# sitewall: site \(policy.site), \(policy.target)\n"
        out += "# Load with 'nft -f FILE': replaces table \(table.family) \(table.name) in one transaction; other tables are left alone.\n"
        out += "table \(table.family) \(table.name)\n"
        out += "delete table \(table.family) \(table.name)\n"
        out += "table \(table.family) \(table.name) {\n"
        for helper in table.helpers {
            out += "\tct helper \(helper.rawValue) {\n\t\ttype \"\(helper.rawValue)\" protocol \(helper.transport.rawValue)\n\t}\n\n"
        }
        for set in table.sets {
            out += "\tset \(set.name) {\n"
            out += "\t\ttype \(set.family == .ipv4 ? "ipv4_addr" : "ipv6_addr")\n"
            if let comment = set.comment { out += "\t\tcomment \"\(RuleComment.clip(comment))\"\n" }
            if !set.elements.isEmpty {
                out += "\t\telements = { " + set.elements.map(\.description).joined(separator: ",\n\t\t\t     ") + " }\n"
            }
            out += "\t}\n\n"
        }
        for (index, chain) in table.chains.enumerated() {
            out += "\tchain \(chain.name) {\n"
            out += "\t\ttype filter hook \(chain.hook.rawValue) priority \(priority(chain.priority)); policy \(chain.policy.rawValue);\n"
            for rule in chain.rules { out += "\t\t" + render(rule) + "\n" }
            out += "\t}\n"
            if index < table.chains.count - 1 { out += "\n" }
        }
        out += "}\n"
        return out
    }

    static func priority(_ value: Int) -> String {
        value == 0 ? "filter" : (value > 0 ? "filter + \(value)" : "filter - \(-value)")
    }

    static func ports(_ set: PortSet) -> String {
        set.ranges.count == 1 ? set.ranges[0].description : "{ " + set.ranges.map(\.description).joined(separator: ", ") + " }"
    }

    static func address(_ match: AddressMatch) -> String {
        switch match {
        case let .set(name): return "@\(name)"
        case let .addresses(list):
            return list.count == 1 ? list[0].description : "{ " + list.map(\.description).joined(separator: ", ") + " }"
        }
    }

    /// One rule in nft syntax, in the order `nft list ruleset` prints matches.
    public static func render(_ rule: Rule) -> String {
        var parts: [String] = []
        if let iif = rule.iif { parts.append("iif \"\(iif)\"") }
        if let iifname = rule.iifname { parts.append("iifname \"\(iifname)\"") }
        if let oif = rule.oif { parts.append("oif \"\(oif)\"") }
        if let oifname = rule.oifname { parts.append("oifname \"\(oifname)\"") }
        let ip = rule.family == .ipv6 ? "ip6" : "ip"
        if let saddr = rule.saddr { parts.append("\(ip) saddr \(address(saddr))") }
        if let daddr = rule.daddr { parts.append("\(ip) daddr \(address(daddr))") }
        if let family = rule.family, rule.saddr == nil, rule.daddr == nil, rule.icmpv6Types == nil {
            parts.append("meta nfproto \(family == .ipv4 ? "ipv4" : "ipv6")")
        }
        if let transport = rule.transport {
            if let sport = rule.sport { parts.append("\(transport.rawValue) sport \(ports(sport))") }
            if let dport = rule.dport { parts.append("\(transport.rawValue) dport \(ports(dport))") }
            if rule.sport == nil && rule.dport == nil { parts.append("meta l4proto \(transport.rawValue)") }
        }
        if let types = rule.icmpv6Types {
            parts.append("icmpv6 type { \(types.joined(separator: ", ")) } ip6 hoplimit 255")
        }
        if let states = rule.ctState { parts.append("ct state " + states.map(\.rawValue).joined(separator: ",")) }
        if let helper = rule.helper { parts.append("ct helper set \"\(helper.rawValue)\"") }
        parts.append(rule.verdict.rawValue)
        if let comment = rule.comment, !comment.isEmpty { parts.append("comment \"\(RuleComment.clip(comment))\"") }
        return parts.joined(separator: " ")
    }
}

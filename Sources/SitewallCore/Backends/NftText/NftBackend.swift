/// Renders a policy as an `nft -f` script that replaces sitewall's table atomically:
/// the script creates the table (so the delete cannot fail), deletes it and defines it anew,
/// all in one transaction; other tables are never named.
public enum NftBackend: TextBackend {
    public static let kind = BackendKind.nft

    public static func files(_ policy: Policy, options: RenderOptions) -> [(suffix: String, text: String)] {
        [("nft", render(policy))]
    }

    public static func render(_ policy: Policy) -> String {
        let table = policy.table
        var out = "#!/usr/sbin/nft -f\n"
        out += "# sitewall: site \(policy.site), \(policy.target)\n"
        out +=
            "# Load with 'nft -f FILE': replaces table \(table.family) \(table.name) in one transaction; "
            + "other tables are left alone.\n"
        out += "table \(table.family) \(table.name)\n"
        out += "delete table \(table.family) \(table.name)\n"
        out += "table \(table.family) \(table.name) {\n"
        for helper in table.helpers {
            out +=
                "\tct helper \(helper.rawValue) {\n"
                + "\t\ttype \"\(helper.rawValue)\" protocol \(helper.transport.rawValue)\n\t}\n\n"
        }
        for counter in table.counters ?? [] {
            out += "\tcounter \(counter) {\n\t\tpackets 0 bytes 0\n\t}\n\n"
        }
        for set in table.sets {
            out += "\tset \(set.name) {\n"
            out += "\t\ttype \(set.family == .ipv4 ? "ipv4_addr" : "ipv6_addr")\n"
            out += "\t\tflags \(AddressSetElements.nftFlags.joined(separator: ", "))\n"
            if let comment = set.comment { out += "\t\tcomment \"\(RuleComment.clip(comment))\"\n" }
            if !set.elements.isEmpty {
                let elements = AddressSetElements.nft(set.elements)
                out += "\t\telements = { " + elements.joined(separator: ",\n\t\t\t     ") + " }\n"
            }
            out += "\t}\n\n"
        }
        for (index, chain) in table.chains.enumerated() {
            out += "\tchain \(chain.name) {\n"
            out +=
                "\t\ttype filter hook \(chain.hook.rawValue) priority \(priority(chain.priority)); "
                + "policy \(chain.policy.rawValue);\n"
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

    /// One rule in nft syntax, in the order `nft list ruleset` prints matches.
    public static func render(_ rule: Rule) -> String { RuleSpelling.nft(rule) }
}

/// Renders a policy as iptables-save text: one document per address family, for
/// iptables-restore (IPv4) and ip6tables-restore (IPv6). sitewall's rules live in chains of its
/// own (SITEWALL-INPUT, ...), jumped to from the built-ins; address sets become per-rule chains
/// with one line per prefix, so a rule costs |sources| + |destinations| lines, not their product.
public enum IptablesBackend: TextBackend {
    public static let kind = BackendKind.iptables

    public static func files(_ policy: Policy, options: RenderOptions) throws -> [(suffix: String, text: String)] {
        var own = Options()
        own.chainsOnly = options.chainsOnly
        return [
            ("v4", try render(policy, family: .ipv4, options: own)),
            ("v6", try render(policy, family: .ipv6, options: own)),
        ]
    }

    public static func unsupported(chain: Chain) -> String? {
        builtin[chain.hook] == nil ? "a base chain on the \(chain.hook.rawValue) hook" : nil
    }

    public static func unsupported(rule: Rule, in chain: Chain) -> String? {
        for family in IPFamily.allCases where applies(rule, to: family) {
            if let reason = problem(rule, family: family) { return reason }
        }
        return nil
    }

    /// Something the policy says that iptables cannot say as strongly: refused, never weakened.
    public struct Unsupported: Error, CustomStringConvertible {
        public var rule: String
        public var reason: String
        public var description: String { "cannot express in iptables: \(reason) (rule: \(rule))" }
    }

    public struct Options: Sendable {
        /// Only sitewall's own chains: no built-in policies or jumps, for `iptables-restore --noflush`.
        public var chainsOnly = false
        public init() {}
    }

    /// multiport takes at most 15 ports, a range counting as two.
    public static let multiportLimit = 15

    static let builtin: [Hook: String] = [
        .input: "INPUT", .output: "OUTPUT", .forward: "FORWARD", .prerouting: "PREROUTING",
    ]
    static let prefixes: [Hook: String] = [.input: "SW-IN", .output: "SW-OUT", .forward: "SW-FWD"]

    public static func render(_ policy: Policy, family: IPFamily, options: Options = Options()) throws -> String {
        let sets = Dictionary(uniqueKeysWithValues: policy.table.sets.map { ($0.name, $0) })
        var filter = Table(name: "filter")
        var raw = Table(name: "raw")
        for chain in policy.table.chains {
            guard let builtin = builtin[chain.hook] else {
                throw Unsupported(rule: chain.name, reason: "a base chain on the \(chain.hook.rawValue) hook")
            }
            let own = "SITEWALL-\(builtin)"
            filter.declare(builtin, policy: chain.policy == .drop ? "DROP" : "ACCEPT", builtin: true)
            filter.declare(own)
            filter.jumps.append("-A \(builtin) -j \(own)")
            for (index, rule) in chain.rules.enumerated() where applies(rule, to: family) {
                try check(rule, family: family)
                let stem = "\(prefixes[chain.hook]!)-\(index)"
                // A named counter needs no line: iptables counts every rule (iptables -L -v shows them).
                // A logging rule logs and falls through to the policy's DROP, as its drop does in nft.
                filter.lines += try expand(
                    rule, into: own, stem: stem, family: family, sets: sets, table: &filter,
                    target: rule.log.map(logTarget) ?? (rule.verdict == .accept ? "ACCEPT" : "DROP"))
                if let helper = rule.helper {
                    // The helper is assigned in raw, before conntrack: PREROUTING for packets that
                    // arrive (input, forward), OUTPUT for packets this host sends.
                    let hook = chain.hook == .output ? "OUTPUT" : "PREROUTING"
                    let rawOwn = "SITEWALL-\(hook)"
                    raw.declare(hook, policy: "ACCEPT", builtin: true)
                    if !raw.declared.contains(rawOwn) {
                        raw.declare(rawOwn)
                        raw.jumps.append("-A \(hook) -j \(rawOwn)")
                    }
                    var helperRule = rule
                    helperRule.oifname = chain.hook == .forward ? nil : rule.oifname
                    helperRule.ctState = nil
                    raw.lines += try expand(
                        helperRule, into: rawOwn, stem: "SW-CT\(hook == "OUTPUT" ? "O" : "P")-\(index)", family: family,
                        sets: sets, table: &raw, target: "CT --helper \(helper.rawValue)")
                }
            }
        }
        var out =
            "# sitewall: site \(policy.site), \(policy.target), "
            + "\(family == .ipv4 ? "IPv4: iptables-restore" : "IPv6: ip6tables-restore")\n"
        out += "# Loading replaces the whole filter (and raw) table; see the README for --noflush use.\n"
        for table in [raw, filter] where !table.declared.isEmpty {
            out += table.render(chainsOnly: options.chainsOnly)
        }
        return out
    }

    /// LOG keeps at most 29 characters of a prefix, NFLOG 63.
    static func logTarget(_ log: LogAction) -> String {
        if let group = log.group {
            return "NFLOG --nflog-group \(group) --nflog-prefix \"\(log.prefix.prefix(63))\""
        }
        return "LOG --log-prefix \"\(log.prefix.prefix(29))\""
    }

    /// A rule belongs to a family if it matches addresses of that family, or none.
    static func applies(_ rule: Rule, to family: IPFamily) -> Bool {
        if rule.icmpv6Types != nil { return family == .ipv6 }
        return rule.family == nil || rule.family == family
    }

    static func check(_ rule: Rule, family: IPFamily) throws {
        if let reason = problem(rule, family: family) {
            throw Unsupported(rule: rule.comment ?? NftBackend.render(rule), reason: reason)
        }
    }

    /// What of `rule` iptables cannot say as strongly, for one family.
    static func problem(_ rule: Rule, family: IPFamily) -> String? {
        if rule.icmpv6Types != nil && family != .ipv6 { return "ICMPv6 types in IPv4" }
        if (rule.sport != nil || rule.dport != nil) && rule.transport == nil { return "ports without a transport" }
        for name in [rule.iif, rule.oif, rule.iifname, rule.oifname].compactMap({ $0 }) where name.contains("*") {
            return "interface wildcard '\(name)'"
        }
        if let sport = rule.sport, let dport = rule.dport, sport.ranges.count > 1, dport.ranges.count > 1 {
            return "lists of both source and destination ports"
        }
        if rule.foreign != nil { return "a rule sitewall did not write" }
        if rule.payload != nil {
            return "a test of the payload (a Modbus or BACnet operation filter); use --target nft or netlink"
        }
        return nil
    }

    struct Table {
        var name: String
        var declared: [String] = []
        var policies: [String: String] = [:]
        var builtins: Set<String> = []
        var jumps: [String] = []
        var lines: [String] = []

        mutating func declare(_ chain: String, policy: String = "-", builtin: Bool = false) {
            guard !declared.contains(chain) else { return }
            declared.append(chain)
            policies[chain] = policy
            if builtin { builtins.insert(chain) }
        }

        func render(chainsOnly: Bool) -> String {
            var out = "*\(name)\n"
            for chain in declared where !(chainsOnly && builtins.contains(chain)) {
                out += ":\(chain) \(policies[chain] ?? "-") [0:0]\n"
            }
            if !chainsOnly { for jump in jumps { out += jump + "\n" } }
            for line in lines { out += line + "\n" }
            return out + "COMMIT\n"
        }
    }

    static func addresses(_ match: AddressMatch?, sets: [String: AddressSet]) -> [IPNetwork]? {
        switch match {
        case nil: return nil
        case .set(let name)?: return IPNetwork.covering(sets[name]?.elements ?? [])
        case .addresses(let list)?: return IPNetwork.covering(list)
        case .network(let network)?: return [network]
        }
    }

    /// The rule as lines of `chain`; address sets of more than one prefix go through chains of their own.
    static func expand(
        _ rule: Rule, into chain: String, stem: String, family: IPFamily, sets: [String: AddressSet],
        table: inout Table, target: String
    ) throws -> [String] {
        let sources = addresses(rule.saddr, sets: sets)
        let destinations = addresses(rule.daddr, sets: sets)
        // An empty set matches nothing: no line at all, rather than a rule without the match.
        if sources?.isEmpty == true || destinations?.isEmpty == true { return [] }
        var lines: [String] = []
        let comment = rule.comment.map { " -m comment --comment \"\(RuleComment.clip($0))\"" } ?? ""
        // The CT target needs the protocol in its own rule; repeating it in set chains costs nothing.
        let proto =
            rule.transport.map { " -p \($0 == .icmp && rule.family == .ipv6 ? "ipv6-icmp" : $0.rawValue)" } ?? ""
        let portGroups = try portMatches(rule)
        func one(_ source: IPNetwork?, _ destination: IPNetwork?, next: String, in chainName: String, ports: String)
            -> String
        {
            var parts = ["-A \(chainName)"]
            if let iif = rule.iif ?? rule.iifname { parts.append("-i \(iif)") }
            if let oif = rule.oif ?? rule.oifname { parts.append("-o \(oif)") }
            if let source { parts.append("-s \(source)") }
            if let destination { parts.append("-d \(destination)") }
            parts.append(ports)
            return parts.filter { !$0.isEmpty }.joined(separator: " ") + comment + " -j \(next)"
        }
        for (portIndex, ports) in portGroups.enumerated() {
            let suffix = portGroups.count > 1 ? "p\(portIndex)" : ""
            switch (sources, destinations) {
            case (let s?, let d?) where s.count > 1 || d.count > 1:
                // Match ports here, then sources in one chain, destinations in the next.
                let sourceChain = "\(stem)\(suffix)-S"
                let destinationChain = "\(stem)\(suffix)-D"
                table.declare(sourceChain)
                table.declare(destinationChain)
                lines.append(one(nil, nil, next: sourceChain, in: chain, ports: ports))
                for network in s {
                    table.lines.append("-A \(sourceChain) -s \(network)\(proto) -j \(destinationChain)")
                }
                for network in d {
                    table.lines.append("-A \(destinationChain) -d \(network)\(proto)\(comment) -j \(target)")
                }
            case (let s?, nil) where s.count > 1:
                let sourceChain = "\(stem)\(suffix)-S"
                table.declare(sourceChain)
                lines.append(one(nil, nil, next: sourceChain, in: chain, ports: ports))
                for network in s {
                    table.lines.append("-A \(sourceChain) -s \(network)\(proto)\(comment) -j \(target)")
                }
            case (nil, let d?) where d.count > 1:
                let destinationChain = "\(stem)\(suffix)-D"
                table.declare(destinationChain)
                lines.append(one(nil, nil, next: destinationChain, in: chain, ports: ports))
                for network in d {
                    table.lines.append("-A \(destinationChain) -d \(network)\(proto)\(comment) -j \(target)")
                }
            default:
                lines.append(one(sources?.first, destinations?.first, next: target, in: chain, ports: ports))
            }
        }
        return lines
    }

    /// The protocol, port, state and ICMPv6 matches, split where multiport's limit needs it.
    static func portMatches(_ rule: Rule) throws -> [String] {
        var fixed: [String] = []
        if let states = rule.ctState {
            fixed.append("-m conntrack --ctstate " + states.map { $0.rawValue.uppercased() }.joined(separator: ","))
        }
        if let types = rule.icmpv6Types {
            // One ICMPv6 type per rule in ip6tables: handled by the caller splitting below.
            let names = types.map { icmpv6Names[$0] ?? ICMPv6Match.numbers[$0].map(String.init) ?? $0 }
            let hopLimit = ICMPv6Match.hopLimit(types)
            return names.map {
                "-p ipv6-icmp -m icmp6 --icmpv6-type \($0) -m hl --hl-eq \(hopLimit)"
                    + (fixed.isEmpty ? "" : " " + fixed.joined(separator: " "))
            }
        }
        if let limit = rule.limit {
            let unit = limit.per == .second ? "sec" : "min"
            fixed.append("-m limit --limit \(limit.rate)/\(unit) --limit-burst \(RateLimit.burst)")
        }
        guard let transport = rule.transport else { return [fixed.joined(separator: " ")] }
        if transport == .icmp {
            let echo =
                rule.family == .ipv6 ? "-p ipv6-icmp -m icmp6 --icmpv6-type 128" : "-p icmp -m icmp --icmp-type 8"
            return [([echo] + fixed).joined(separator: " ")]
        }
        if transport == .igmp { return [(["-p igmp"] + fixed).joined(separator: " ")] }
        var base = "-p \(transport.rawValue) -m \(transport.rawValue)"
        if let sport = rule.sport, sport.ranges.count == 1 { base += " --sport \(portText(sport.ranges[0]))" }
        if let dport = rule.dport, dport.ranges.count == 1 { base += " --dport \(portText(dport.ranges[0]))" }
        if rule.withoutSYN == true { base += " --tcp-flags SYN NONE" }
        var groups: [String] = []
        let multiSource = rule.sport.map { $0.ranges.count > 1 } ?? false
        let multiDestination = rule.dport.map { $0.ranges.count > 1 } ?? false
        if multiSource && multiDestination {
            throw Unsupported(rule: rule.comment ?? "", reason: "lists of both source and destination ports")
        }
        if multiSource || multiDestination {
            let ranges = (multiDestination ? rule.dport : rule.sport)!.ranges
            for chunk in chunks(ranges) {
                groups.append(
                    base + " -m multiport --\(multiDestination ? "dports" : "sports") "
                        + chunk.map(portText).joined(separator: ","))
            }
        } else {
            groups.append(base)
        }
        return groups.map { ([$0] + fixed).joined(separator: " ") }
    }

    /// Port lists in pieces multiport accepts (a range takes two of its 15 slots).
    static func chunks(_ ranges: [PortRange]) -> [[PortRange]] {
        var result: [[PortRange]] = [[]]
        var used = 0
        for range in ranges {
            let cost = range.isSingle ? 1 : 2
            if used + cost > multiportLimit {
                result.append([])
                used = 0
            }
            result[result.count - 1].append(range)
            used += cost
        }
        return result
    }

    static func portText(_ range: PortRange) -> String {
        range.isSingle ? "\(range.lower)" : "\(range.lower):\(range.upper)"
    }

    static let icmpv6Names = [
        "nd-neighbor-solicit": "neighbour-solicitation", "nd-neighbor-advert": "neighbour-advertisement",
        "nd-router-advert": "router-advertisement", "nd-router-solicit": "router-solicitation",
    ]
}

import SitewallTestSupport
import Testing

@testable import SitewallCore

@Suite struct IptablesBackendTests {
    static func render(
        _ example: String, _ kind: Target.Kind, _ name: String, _ family: IPFamily = .ipv4,
        options: IptablesBackend.Options = .init()
    ) throws -> String {
        let workspace = try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        return try IptablesBackend.render(
            workspace.policy(for: Target(kind: kind, name: name)), family: family, options: options)
    }

    @Test func layoutHasOwnChainsJumpsPoliciesAndCommit() throws {
        let text = try Self.render("campus", .gateway, "gw-1")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("*filter"))
        #expect(lines.last == "COMMIT")
        for builtin in ["INPUT", "FORWARD", "OUTPUT"] {
            #expect(lines.contains(":\(builtin) DROP [0:0]"))
            #expect(lines.contains(":SITEWALL-\(builtin) - [0:0]"))
            #expect(lines.contains("-A \(builtin) -j SITEWALL-\(builtin)"))
        }
        #expect(lines.contains("-A SITEWALL-INPUT -i lo -m comment --comment \"loopback\" -j ACCEPT"))
        #expect(
            lines.contains(
                "-A SITEWALL-FORWARD -m conntrack --ctstate ESTABLISHED,RELATED "
                    + "-m comment --comment \"replies and helper-related flows\" -j ACCEPT"
            ))
        #expect(
            lines.contains {
                $0.hasPrefix(
                    "-A SITEWALL-FORWARD -i eth1 -o eth2 -s 10.10.2.50/32 -d 10.10.1.20/32 -p tcp -m tcp --dport 22001 "
                        + "-m comment --comment \"opto22/pac-control-host"
                ) && $0.hasSuffix("-j ACCEPT")
            })
        // Only sitewall's table content: no other table than filter (and raw where helpers are needed).
        #expect(!text.contains("*nat") && !text.contains("*mangle"))
    }

    @Test func addressSetsBecomePrefixChainsNotProducts() throws {
        let text = try Self.render("plant-scada", .host, "scada-primary")
        // The I/O server is reached by three clients and two servers: one jump, then a line per prefix.
        let jump = try #require(
            text.split(separator: "\n").first { $0.hasPrefix("-A SITEWALL-INPUT -p tcp -m tcp --dport 2082") })
        let chain = try #require(jump.split(separator: " ").last)
        let members = text.split(separator: "\n").filter { $0.hasPrefix("-A \(chain) ") }
        #expect(members.count >= 2 && members.allSatisfy { $0.contains("-s 10.30.2.") && $0.hasSuffix("-j ACCEPT") })
        #expect(
            IPNetwork.covering(["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.9"].map { IPAddress($0)! }).map(
                \.description)
                == ["10.0.0.4/30", "10.0.0.9/32"])
    }

    @Test func multiportIsSplitAtFifteenSlots() throws {
        var rule = Rule(verdict: .accept)
        rule.transport = .tcp
        let singles: [PortRange] = (1...20).map { (n: Int) -> PortRange in PortRange(UInt16(n * 10)) }
        rule.dport = PortSet(singles + [PortRange(1000, 1010)])
        let groups = try IptablesBackend.portMatches(rule)
        #expect(groups.count == 2)
        let first: [String] = (1...15).map { (n: Int) -> String in String(n * 10) }
        #expect(groups[0] == "-p tcp -m tcp -m multiport --dports " + first.joined(separator: ","))
        #expect(groups[1] == "-p tcp -m tcp -m multiport --dports 160,170,180,190,200,1000:1010")
        // A range takes two slots: seven ranges and one port fill exactly fifteen.
        let sevenRanges: [PortRange] = (0..<7).map { (n: Int) -> PortRange in
            PortRange(UInt16(100 * n + 100), UInt16(100 * n + 110))
        }
        let ranges = sevenRanges + [PortRange(5000)]
        #expect(IptablesBackend.chunks(ranges).count == 1)
        #expect(IptablesBackend.chunks(ranges + [PortRange(6000)]).count == 2)
    }

    @Test func ipv6PartHasNeighbourDiscoveryAndOnlyIPv6Addresses() throws {
        let v6 = try Self.render("campus", .host, "scada-1", .ipv6)
        #expect(v6.contains("-p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -m hl --hl-eq 255"))
        #expect(v6.contains("2001:db8:10:2::50/128"))
        #expect(!v6.contains("10.10.2."))
        let v4 = try Self.render("campus", .host, "scada-1", .ipv4)
        #expect(!v4.contains("icmp6") && !v4.contains("2001:db8"))
    }

    @Test func helperGoesToRawWithProtocolOnEveryLine() throws {
        let text = try Self.render("megapower-video", .host, "mpcpu-1")
        #expect(text.hasPrefix("# sitewall") && text.contains("*raw\n"))
        let ct = text.split(separator: "\n").filter { $0.hasSuffix("-j CT --helper tftp") }
        #expect(ct.count >= 2 && ct.allSatisfy { $0.contains("-p udp") })
        #expect(text.contains("-A PREROUTING -j SITEWALL-PREROUTING") && text.contains("-A OUTPUT -j SITEWALL-OUTPUT"))
    }

    @Test func chainsOnlyLeavesBuiltinsAlone() throws {
        var options = IptablesBackend.Options()
        options.chainsOnly = true
        let text = try Self.render("campus", .gateway, "gw-1", options: options)
        #expect(!text.contains(":INPUT") && !text.contains("-A INPUT -j"))
        #expect(text.contains(":SITEWALL-INPUT - [0:0]"))
    }

    @Test func commentsCannotBreakTheQuotingAndWildcardsAreRefused() throws {
        var rule = Rule(verdict: .accept)
        rule.transport = .tcp
        rule.dport = PortSet(1)
        rule.comment = "evil\" -j ACCEPT \\ x"
        var policy = Policy(site: "t", target: Target(kind: .host, name: "h"), table: Table())
        policy.table.chains = [Chain(name: "input", hook: .input, priority: 0, policy: .drop, rules: [rule])]
        let text = try IptablesBackend.render(policy, family: .ipv4)
        let line = try #require(text.split(separator: "\n").first { $0.contains("--dport 1 ") })
        #expect(line.filter { $0 == "\"" }.count == 2)
        policy.table.chains[0].rules[0].iifname = "eth*"
        #expect(throws: IptablesBackend.Unsupported.self) { try IptablesBackend.render(policy, family: .ipv4) }
    }
}

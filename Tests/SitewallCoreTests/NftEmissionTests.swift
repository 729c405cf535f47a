import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

@Suite struct NftEmissionTests {
    static func script(_ example: String, _ kind: Target.Kind, _ name: String) throws -> String {
        let workspace = try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        return NftBackend.render(workspace.policy(for: Target(kind: kind, name: name)))
    }

    @Test func scriptReplacesOnlySitewallsTable() throws {
        let text = try Self.script("plant-scada", .host, "scada-primary")
        let statements = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("\t") && $0 != "}" }
        #expect(statements == ["table inet sitewall", "delete table inet sitewall", "table inet sitewall {"])
        #expect(!text.contains("flush ruleset"))
    }

    @Test func everyChainDefaultsToDropWithStatefulBaseline() throws {
        let text = try Self.script("campus", .gateway, "gw-1")
        for hook in ["input", "forward", "output"] {
            #expect(text.contains("type filter hook \(hook) priority filter; policy drop;"))
        }
        #expect(text.contains("ct state established,related accept"))
        #expect(text.contains("ct state invalid drop"))
        #expect(text.contains("iif \"lo\" accept"))
        #expect(text.contains("oif \"lo\" accept"))
    }

    @Test func flowRuleCarriesSetsPortsAndCitation() throws {
        let text = try Self.script("campus", .gateway, "gw-1")
        let line = try #require(
            text.split(separator: "\n").first { $0.contains("tcp dport 22001") && $0.contains("ip saddr") })
        #expect(line.contains("iifname \"eth1\" oifname \"eth2\""))
        #expect(
            line.contains(
                "ip saddr @opto22_pac_control_supervisory_v4 ip daddr @opto22_snap_pac_control_v4 "
                    + "tcp dport 22001 accept"
            ))
        #expect(
            line.contains(
                "comment \"opto22/pac-control-host: pac-control -> snap-pac "
                    + "[opto22-ports firmware table '22001 PAC Control and ioControl host port']\""
            ))
    }

    @Test func helperSymmetricPortsAndIPv6Render() throws {
        let video = try Self.script("megapower-video", .host, "mpcpu-1")
        #expect(video.contains("ct helper tftp {\n\t\ttype \"tftp\" protocol udp\n\t}"))
        #expect(video.contains("udp dport 69 ct helper set \"tftp\" accept"))
        #expect(video.contains("ip daddr @ntp_server_v4 udp sport 123 udp dport 123 accept"))
        let campus = try Self.script("campus", .host, "scada-1")
        #expect(campus.contains("ip6 saddr @"))
        #expect(campus.contains("type ipv6_addr"))
        #expect(campus.contains("2001:db8:10:2::50"))
    }

    @Test func portListsAndRangesRender() {
        var rule = Rule(verdict: .accept)
        rule.family = .ipv4
        rule.transport = .tcp
        rule.dport = PortSet([PortRange(443), PortRange(8443)])
        #expect(NftBackend.render(rule) == "meta nfproto ipv4 tcp dport { 443, 8443 } accept")
        rule.dport = PortSet([PortRange(22500, 22531)])
        rule.daddr = .addresses([IPAddress("10.0.0.1")!])
        #expect(NftBackend.render(rule) == "ip daddr 10.0.0.1 tcp dport 22500-22531 accept")
    }

    @Test func commentsAreClippedAndCannotCloseTheQuote() {
        let text = RuleComment.clip(String(repeating: "x", count: 200) + "\"; drop")
        #expect(text.utf8.count <= RuleComment.maxLength)
        #expect(!RuleComment.clip("a \" b \\ c\nd").contains("\""))
        #expect(!RuleComment.clip("a \" b \\ c\nd").contains("\\"))
    }

    @Test func jsonRoundTrips() throws {
        let workspace = try Workspace.load(site: Repository.example("campus"), profiles: Repository.profiles)
        let policy = workspace.policy(for: Target(kind: .gateway, name: "gw-1"))
        let json = try PolicyJSONBackend.render(policy)
        #expect(try PolicyJSONBackend.decode(json) == policy)
        #expect(json.contains("\"citations\""))
    }
}

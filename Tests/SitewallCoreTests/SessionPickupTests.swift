import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// The first apply on a machine without a firewall runs over an SSH session conntrack has not seen: it
/// picks the session up mid-stream and calls the server's next segment new. Without a rule for that,
/// the session stalled until the rollback timer undid the apply (found by the Ansible fleet lab: an
/// apply over SSH took 221 s, then rolled back). Each SSH flow's reply direction is accepted for
/// segments without SYN, and for those only. (In the kernel: FleetLabTests.)
@Suite struct SessionPickupTests {
    static let fleet = Repository.root + "/ansible/ansible_collections/sitewall/site/examples/fleet-lab.yaml"

    @Test func everySSHFlowGetsItsReplyDirectionWithoutSYN() throws {
        let workspace = try Workspace.load(site: Self.fleet, profiles: Repository.profiles)
        let host = workspace.policy(for: Target(kind: .host, name: "hist-1")).table
        let output = try #require(host.chain(named: "output")).rules.filter { $0.withoutSYN == true }
        #expect(output.count == 1)
        #expect(RuleSpelling.nft(output[0]).hasPrefix("ip daddr @ssh_client_v4 tcp sport 22 tcp flags ! syn accept"))
        let gateway = workspace.policy(for: Target(kind: .gateway, name: "gw-1")).table
        let forward = try #require(gateway.chain(named: "forward")).rules.filter { $0.withoutSYN == true }
        #expect(forward.count == 1)
        #expect(
            RuleSpelling.nft(forward[0]).hasPrefix(
                "iifname \"eth1\" oifname \"eth0\" ip saddr @ssh_server_plant_v4 ip daddr @ssh_client_management_v4 "
                    + "tcp sport 22 tcp flags ! syn accept"), "\(RuleSpelling.nft(forward[0]))")
        // A PLC offers no SSH: nothing of the kind.
        let plc = workspace.policy(for: Target(kind: .host, name: "plc-1")).table
        #expect(!plc.chains.flatMap(\.rules).contains { $0.withoutSYN == true })
    }

    /// No connection opens through it: the evaluator (explain, the lockout guard) sees first packets,
    /// which carry SYN; iptables says the same with --tcp-flags.
    @Test func noConnectionOpensThroughIt() throws {
        let workspace = try Workspace.load(site: Self.fleet, profiles: Repository.profiles)
        let explanation = try Explainer.explain(
            workspace, from: "hist-1", to: "eng-1", transport: .tcp, port: 40000, sourcePort: 22)
        #expect(explanation.verdict == .drop)
        let text = try IptablesBackend.render(workspace.policy(for: Target(kind: .host, name: "hist-1")), family: .ipv4)
        #expect(text.contains("-p tcp -m tcp --sport 22 --tcp-flags SYN NONE"))
    }
}

import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Each backend says what it cannot express; a policy is checked whole, and each problem names the
/// site line it comes from.
@Suite struct BackendCheckTests {
    @Test func everyBackendIsRegisteredOnce() {
        var registered: [String] = []
        for backend in Backends.all { registered.append(backend.kind.rawValue) }
        #expect(registered.sorted() == BackendKind.allCases.map(\.rawValue).sorted())
        for kind in BackendKind.allCases {
            let found = kind.backend.kind
            #expect(found == kind)
        }
    }

    @Test func aListOfPortRangesIsReportedForNetlinkWithItsSiteLine() throws {
        let workspace = try SiteFixture.workspace(BackendCheckSite.text)
        let plc = workspace.policy(for: Target(kind: .host, name: "plc"))
        #expect(Backends.unexpressible(plc, by: .nft).isEmpty)
        #expect(Backends.unexpressible(plc, by: .json).isEmpty)
        let problems = Backends.unexpressible(plc, by: .netlink)
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(problem.location?.description == "site.yaml:5:3", "\(problem)")
        #expect(problem.description.contains("the netlink backend cannot express a list of port ranges"), "\(problem)")
        #expect(problem.description.contains("chain input, rule"), "\(problem)")
        #expect(problem.description.contains("modbus"), "\(problem)")
        // The client side matches the same ports: reported there too, with the same line.
        let scada = workspace.policy(for: Target(kind: .host, name: "scada"))
        #expect(Backends.unexpressible(scada, by: .netlink).map(\.location) == [problem.location])
    }

    @Test func iptablesReportsWhatItCannotSay() {
        var rule = Rule(verdict: .accept)
        rule.transport = .udp
        rule.sport = PortSet([PortRange(1), PortRange(3)])
        rule.dport = PortSet([PortRange(5), PortRange(7)])
        rule.oifname = "eth*"
        let chain = Chain(name: "input", hook: .input, priority: 0, policy: .drop, rules: [rule])
        #expect(IptablesBackend.unsupported(rule: rule, in: chain) == "interface wildcard 'eth*'")
        let post = Chain(name: "post", hook: .postrouting, priority: 0, policy: .accept, rules: [])
        #expect(IptablesBackend.unsupported(chain: post) == "a base chain on the postrouting hook")
        rule.oifname = nil
        #expect(IptablesBackend.unsupported(rule: rule, in: chain) == "lists of both source and destination ports")
    }
}

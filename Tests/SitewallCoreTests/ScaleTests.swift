import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Hosts go into sets: the ruleset must not grow with the site, only its set elements.
@Suite struct ScaleTests {
    static func counts(_ hosts: Int, narrowed: Bool = false) throws -> (rules: Int, sets: Int, elements: Int) {
        let workspace = try SiteFixture.workspace(
            SiteGenerator.yaml(hosts: hosts, narrowed: narrowed), file: "generated.yaml")
        let table = workspace.policy(for: Target(kind: .gateway, name: "gw-1")).table
        return (
            table.chains.reduce(0) { $0 + $1.rules.count }, table.sets.count,
            table.sets.reduce(0) { $0 + $1.elements.count }
        )
    }

    @Test func ruleCountAt50000HostsIsNoLargerThanAt1000() throws {
        let small = try Self.counts(1000)
        let large = try Self.counts(50_000)
        #expect(large.rules <= small.rules)
        #expect(large.sets <= small.sets)
        #expect(large.elements > small.elements * 30)
    }

    /// Issue 15: named peers, clusters and a read-only use keep the rule count flat in hosts: narrowed
    /// groups add rules per group of peers (an area) and per filter, never per host.
    @Test func narrowingKeepsTheRuleCountFlat() throws {
        let plain = try Self.counts(1000)
        let small = try Self.counts(1000, narrowed: true)
        let large = try Self.counts(20_000, narrowed: true)
        #expect(large.rules == small.rules && large.sets == small.sets, "\(small) \(large)")
        // The read-only plugin's eight checks, and one forward rule per area instead of one for all.
        #expect(small.rules >= plain.rules + 8 && small.rules <= plain.rules + 12, "\(plain) \(small)")
        let workspace = try SiteFixture.workspace(SiteGenerator.yaml(hosts: 2000, narrowed: true), file: "g.yaml")
        #expect(workspace.findings().filter { $0.severity == .error }.isEmpty)
    }

    @Test func generatedSitesCheckCleanly() throws {
        let workspace = try SiteFixture.workspace(SiteGenerator.yaml(hosts: 500), file: "generated.yaml")
        #expect(workspace.resolved.hosts.count == 501)
        #expect(workspace.findings().filter { $0.severity == .error }.isEmpty)
        #expect(
            Set(workspace.resolved.hosts.flatMap { $0.roles.map(\.profileName) }).isSuperset(of: [
                "plant-scada", "opto22", "genetec-iiot", "megapower",
            ]))
    }
}

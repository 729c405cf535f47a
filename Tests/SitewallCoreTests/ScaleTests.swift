import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Hosts go into sets: the ruleset must not grow with the site, only its set elements.
@Suite struct ScaleTests {
    static func counts(_ hosts: Int) throws -> (rules: Int, sets: Int, elements: Int) {
        let workspace = try SiteFixture.workspace(SiteGenerator.yaml(hosts: hosts), file: "generated.yaml")
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

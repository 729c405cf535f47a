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

    /// Flow derivation takes each class of hosts (same roles, nothing of their own) once with all its
    /// addresses: every flow group, members, roles and citations in their order included, must be what
    /// deriving host by host gives, on every example and on generated sites with and without narrowing.
    @Test func derivingEachClassOnceEqualsDerivingEveryHost() throws {
        var sites = try Repository.exampleNames.map {
            try Workspace.load(site: Repository.example($0), profiles: Repository.profiles).resolved
        }
        for narrowed in [false, true] {
            sites.append(
                try SiteFixture.workspace(SiteGenerator.yaml(hosts: 400, narrowed: narrowed), file: "g.yaml").resolved)
        }
        #expect(sites.last!.hosts.filter { $0.roleClass != nil }.count > 300)
        #expect(sites.last!.hosts.contains { $0.roleClass == nil && !$0.clusters.isEmpty })
        for site in sites {
            var alone = ResolvedSite(site: site.site, catalog: site.catalog, zones: site.zones, conduits: site.conduits)
            alone.blocked = site.blocked
            alone.groups = site.groups
            for var host in site.hosts {
                host.roleClass = nil
                alone.add(host)
            }
            let byClass = FlowDeriver.derive(site).map { "\($0)" }
            let byHost = FlowDeriver.derive(alone).map { "\($0)" }
            #expect(byClass.count == byHost.count, "\(site.site.name)")
            #expect(byClass == byHost, "\(site.site.name)")
        }
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

    /// compile --all renders each class of hosts once and renames the copies: every file must be what
    /// rendering its own target writes (nft, iptables and the JSON policy, which names its target in
    /// its body and is rendered anew), on every example and on a generated site.
    @Test func filesRenderedOncePerClassEqualEachTargetsOwn() throws {
        var workspaces = try Repository.exampleNames.map {
            try Workspace.load(site: Repository.example($0), profiles: Repository.profiles)
        }
        workspaces.append(try SiteFixture.workspace(SiteGenerator.yaml(hosts: 300), file: "generated.yaml"))
        var shared = 0
        for workspace in workspaces {
            for kind in [BackendKind.nft, .iptables, .json] {
                let backend = kind.backend as! any TextBackend.Type
                let render = { (policy: Policy) in try backend.files(policy, options: RenderOptions()) }
                var renderer = ClassRenderer(compiler: workspace.compiler, render: render)
                for target in workspace.compiler.targets {
                    let policy = workspace.policy(for: target)
                    guard Backends.unexpressible(policy, by: kind).isEmpty else { continue }
                    let own = try render(policy)
                    let batched = try renderer.files(for: policy)
                    #expect(batched.map(\.suffix) == own.map(\.suffix), "\(kind) \(target)")
                    #expect(batched.map(\.text) == own.map(\.text), "\(kind) \(target)")
                    if workspace.compiler.classKey(of: target) != nil { shared += 1 }
                }
            }
        }
        #expect(shared > 300)
    }

    /// A host named like the start of another's name (h1, h10) gets its own name in the header.
    @Test func aCopiedHeaderNamesExactlyItsTarget() {
        let files: ClassRenderer.Files = [("nft", "#!/usr/sbin/nft -f\n# sitewall: site s, host h1\nrest h1\n")]
        let copied = ClassRenderer.retarget(
            files, site: "s", from: Target(kind: .host, name: "h1"), to: Target(kind: .host, name: "h10"))
        #expect(copied?.first?.text == "#!/usr/sbin/nft -f\n# sitewall: site s, host h10\nrest h1\n")
        let prefix = ClassRenderer.retarget(
            [("nft", "# sitewall: site s, host h10\n")], site: "s", from: Target(kind: .host, name: "h1"),
            to: Target(kind: .host, name: "h2"))
        #expect(prefix == nil)
    }
}

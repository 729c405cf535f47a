import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 16, part 2: `observe:` in the site file, and what it adds to a compiled table. (In the kernel:
/// ObserveLabTests.)
@Suite struct ObserveTests {
    static let campus = try! String(contentsOfFile: Repository.example("campus"), encoding: .utf8)

    static func campus(observing: String) throws -> Workspace {
        try SiteFixture.workspace(campus + "\nobserve:\n" + observing, file: "campus.yaml")
    }

    @Test func observationChangesNoVerdict() throws {
        let plain = try Workspace.load(site: Repository.example("campus"), profiles: Repository.profiles)
        let observed = try Self.campus(observing: "  counters: true\n  log_drops: true\n")
        for probe in ProbePlanner(site: plain.resolved, flows: plain.flows).plan()
        where probe.delivery == nil && probe.transport != .icmp {
            let before = try Explainer.explain(
                plain, from: "\(probe.fromAddress)", to: "\(probe.toAddress)", transport: probe.transport,
                port: probe.dport, sourcePort: probe.sport)
            let after = try Explainer.explain(
                observed, from: "\(probe.fromAddress)", to: "\(probe.toAddress)", transport: probe.transport,
                port: probe.dport, sourcePort: probe.sport)
            #expect(before.steps.map(\.verdict) == after.steps.map(\.verdict), "\(probe.label)")
        }
    }

    @Test func everyFlowRuleCountsAndEachChainEndsCountingAndLoggingItsDrops() throws {
        let workspace = try Self.campus(observing: "  counters: true\n  log_drops: { rate: 5/minute, group: 9 }\n")
        let gateway = workspace.policy(for: Target(kind: .gateway, name: "gw-1")).table
        let counters = try #require(gateway.counters)
        #expect(Set(counters).count == counters.count, "names are unique")
        let named = gateway.chains.flatMap(\.rules).compactMap(\.counter)
        #expect(Set(named) == Set(counters))
        for chain in gateway.chains {
            for rule in chain.rules where rule.origin?.kind == .flow || rule.origin?.kind == .reply {
                #expect(rule.counter != nil, "\(RuleSpelling.nft(rule))")
            }
        }
        // Five zones on gw-1: twenty ordered pairs in forward, one final rule in input and output.
        let forward = try #require(gateway.chain(named: "forward")).rules.filter { $0.origin?.kind == .drop }
        #expect(forward.count == 20)
        let pair = try #require(forward.first { $0.origin?.fromZone == "building" && $0.origin?.toZone == "control" })
        #expect(
            RuleSpelling.nft(pair).hasPrefix(
                "iifname \"eth3\" oifname \"eth2\" counter name \"drop_building_control\" limit rate 5/minute "
                    + "log prefix \"sitewall drop building->control: \" group 9 drop"), "\(RuleSpelling.nft(pair))")
        #expect(gateway.chains.allSatisfy { $0.rules.last?.origin?.kind == .drop })
        // A host has no forward chain to count in.
        let host = workspace.policy(for: Target(kind: .host, name: "plc-1")).table
        #expect(host.chain(named: "forward")?.rules.isEmpty == true)
        #expect(
            NftBackend.render(workspace.policy(for: Target(kind: .host, name: "plc-1"))).contains(
                "\tcounter drop_input {\n\t\tpackets 0 bytes 0\n\t}\n"))
    }

    /// A counter is named after what its rule matches: a site change elsewhere keeps it (and its value).
    @Test func aCounterKeepsItsNameWhenTheSiteChangesElsewhere() throws {
        let before = try Self.campus(observing: "  counters: true\n")
        let grown = Self.campus.replacingOccurrences(
            of: "hosts:\n", with: "hosts:\n  hmi-9: { address: 10.10.2.59, roles: [plant-scada/client] }\n")
        #expect(grown != Self.campus)
        let after = try SiteFixture.workspace(grown + "\nobserve:\n  counters: true\n", file: "campus.yaml")
        let gateway = Target(kind: .gateway, name: "gw-1")
        let old = Set(before.policy(for: gateway).table.counters ?? [])
        let new = Set(after.policy(for: gateway).table.counters ?? [])
        #expect(!old.isEmpty && old == new)
    }

    @Test func badObserveOptionsAreErrorsWithTheirPlace() {
        let cases: [(String, String)] = [
            ("  log_drops: { rate: 10/hour }\n", "log_drops rate '10/hour' is not N/second or N/minute"),
            ("  log_drops: { prefix: \"a\\\"b\" }\n", "must be 1 to 48 printable ASCII characters"),
            ("  log_drops: { group: 70000 }\n", "is not an NFLOG group number"),
            ("  counters: maybe\n", "counters must be true or false"),
            ("  count: true\n", "count"),
        ]
        for (text, message) in cases {
            let errors = SiteFixture.errors(Self.campus + "\nobserve:\n" + text)
            #expect(errors.contains { $0.message.contains(message) && $0.location != nil }, "\(text): \(errors)")
        }
        let defaults = try? Self.campus(observing: "  log_drops: true\n")
        #expect(defaults?.resolved.site.observe.logDrops == DropLogging())
        #expect(defaults?.resolved.site.observe.counters == false)
    }

    /// A log expression at a level sitewall never writes is not read back as sitewall's rule.
    @Test func aLogAtAnotherLevelIsForeign() throws {
        var rule = Rule(verdict: .drop)
        rule.log = LogAction(prefix: "x ")
        var expressions = try RuleSpelling.netlink(rule)
        #expect(RuleSpelling.read(netlink: expressions) == rule)
        expressions[0] = .log(prefix: "x ", group: nil, level: 6)
        #expect(RuleSpelling.read(netlink: expressions) == nil)
    }

    @Test func statsMapCountersToFlowsAndDrops() throws {
        let workspace = try Self.campus(observing: "  counters: true\n")
        let policy = workspace.policy(for: Target(kind: .host, name: "plc-1"))
        var running = RunningState(policy: policy)
        let names = policy.table.counters ?? []
        for (index, name) in names.enumerated() {
            running.counters[name] = CounterValue(packets: UInt64(index % 2), bytes: UInt64(index % 2) * 60)
        }
        running.counters["c_old_input_00000000"] = CounterValue(packets: 3, bytes: 180)
        let stats = try FlowStats(expected: policy, running: running)
        #expect(stats.flows.count + stats.drops.count == names.count)
        #expect(stats.used.count + stats.unused.count == stats.flows.count && stats.missing.isEmpty)
        #expect(stats.unknown == ["c_old_input_00000000"])
        #expect(stats.drops.map(\.path) == ["input", "output"])
        #expect(stats.text.contains("running counters the site does not name"))
        let plain = try Workspace.load(site: Repository.example("campus"), profiles: Repository.profiles)
        #expect(throws: FlowStats.Failure.self) {
            try FlowStats(expected: plain.policy(for: Target(kind: .host, name: "plc-1")), running: running)
        }
        #expect(throws: FlowStats.Failure.self) { try FlowStats(expected: policy, running: RunningState(policy: nil)) }
    }

    @Test func iptablesLogsAndFallsThroughToTheDropPolicy() throws {
        let workspace = try Self.campus(observing: "  counters: true\n  log_drops: { prefix: longer-prefix-here }\n")
        let text = try IptablesBackend.render(
            workspace.policy(for: Target(kind: .gateway, name: "gw-1")), family: .ipv4)
        #expect(text.contains("-A SITEWALL-INPUT -m limit --limit 10/min --limit-burst 5"))
        // LOG keeps 29 characters of a prefix.
        #expect(text.contains("-j LOG --log-prefix \"longer-prefix-here drop input\""), "\(text)")
        #expect(!text.contains("counter"))
    }
}

import SitewallTestSupport
import Testing

@testable import SitewallCore

@Suite struct ProbePlannerTests {
    static let site = """
        site: t
        zones:
          sup: { networks: [10.0.2.0/24] }
          ctl: { networks: [10.0.1.0/24] }
        hosts:
          scada: { address: 10.0.2.10, roles: [plant-scada/alarm-server, modbus/client, ntp/client] }
          hmi: { address: 10.0.2.50, roles: [plant-scada/client, opto22/pac-control] }
          time: { address: 10.0.2.5, roles: [ntp/server] }
          pac: { address: 10.0.1.20, roles: [opto22/snap-pac] }
          gw: { gateway: { interfaces: { sup: eth1, ctl: eth2 } } }
        conduits:
          - { from: sup, to: ctl, services: [modbus] }
        """

    @Test func expectationsComeFromFlows() throws {
        let workspace = try SiteFixture.workspace(Self.site)
        let planner = ProbePlanner(site: workspace.resolved, flows: workspace.flows)
        let scada = IPAddress("10.0.2.10")!
        let hmi = IPAddress("10.0.2.50")!
        let pac = IPAddress("10.0.1.20")!
        #expect(planner.expectation(from: hmi, to: scada, transport: .tcp, sport: nil, dport: 2080) == .accept)
        #expect(planner.expectation(from: scada, to: hmi, transport: .tcp, sport: nil, dport: 2080) == .drop)
        #expect(planner.expectation(from: hmi, to: scada, transport: .udp, sport: nil, dport: 2080) == .drop)
        #expect(planner.expectation(from: scada, to: pac, transport: .tcp, sport: nil, dport: 502) == .accept)
        #expect(planner.expectation(from: hmi, to: pac, transport: .tcp, sport: nil, dport: 22001) == .drop)
    }

    @Test func planCoversFlowsAndWhatMustStayClosed() throws {
        let workspace = try SiteFixture.workspace(Self.site)
        let probes = ProbePlanner(site: workspace.resolved, flows: workspace.flows).plan()
        let reasons = Set(probes.map(\.reason))
        for reason in [
            "flow", "neighbouring port", "reverse direction", "no conduit", "other zone", "closed port",
            "never open (opto22)",
        ] {
            #expect(reasons.contains(reason), "no \(reason) probe")
        }
        #expect(
            probes.contains {
                $0.reason == "no conduit" && $0.service == "opto22/pac-control-host" && $0.expected == .drop
            })
        #expect(
            probes.contains {
                $0.reason == "flow" && $0.enforcement == "gw forward sup -> ctl" && $0.expected == .accept
            })
        // Every flow probe of an allowed flow expects it open.
        #expect(probes.filter { $0.reason == "flow" }.allSatisfy { $0.expected == .accept })
        // A probe per 5-tuple.
        let keys = probes.map { "\($0.fromAddress)|\($0.toAddress)|\($0.transport)|\($0.sport ?? 0)|\($0.dport)" }
        #expect(Set(keys).count == probes.count)
    }

    @Test func symmetricPortsGetNoReverseProbe() throws {
        // time:123 -> scada:123 would be the reply tuple of scada:123 -> time:123 (conntrack lets it in).
        let workspace = try SiteFixture.workspace(
            try String(contentsOfFile: Repository.example("megapower-video"), encoding: .utf8))
        let probes = ProbePlanner(site: workspace.resolved, flows: workspace.flows).plan()
        #expect(!probes.contains { $0.reason == "reverse direction" && $0.sport == $0.dport })
    }

    @Test func labPlanGivesGatewaysAnAddressPerZoneAndHostsARoute() throws {
        let workspace = try SiteFixture.workspace(Self.site)
        let plan = LabPlan.make(workspace.resolved, prefix: "swltest")
        let gateway = try #require(plan.node(for: "gw"))
        #expect(gateway.interfaces.map(\.name).sorted() == ["eth1", "eth2"])
        #expect(gateway.interfaces.allSatisfy { !$0.addresses.isEmpty })
        let pac = try #require(plan.node(for: "pac"))
        #expect(pac.routes.count == 1 && pac.interfaces[0].addresses == ["10.0.1.20/24"])
        #expect(
            Set(plan.namespaces).count == plan.namespaces.count
                && plan.namespaces.allSatisfy { $0.hasPrefix("swltest-") })
    }
}

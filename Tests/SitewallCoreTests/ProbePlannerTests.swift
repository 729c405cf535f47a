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
        // A probe per 5-tuple and delivery (a Modbus write goes where the flow's connect probe went).
        let keys = probes.map {
            "\($0.fromAddress)|\($0.toAddress)|\($0.transport)|\($0.sport ?? 0)|\($0.dport)|\($0.delivery?.reason ?? "")"
        }
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

    /// Issue 12: an allowed flow that no probe can prove is listed with its reason, never passed over.
    @Test func flowsThatCannotBeProbedAreListedWithTheReason() throws {
        let site = """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
              b: { networks: [10.0.1.0/24] }
              c: { networks: [10.0.2.0/24] }
            hosts:
              m: { address: 10.0.0.5, roles: [modbus/client, dhcp/client] }
              s: { address: 10.0.2.5, roles: [modbus/server, dhcp/server] }
              ok: { address: 10.0.1.5, roles: [modbus/server] }
              gw: { addresses: [10.0.0.1, 10.0.1.1], gateway: { interfaces: { a: eth0, b: eth1 } } }
            conduits:
              - { from: a, to: c, services: [modbus, dhcp] }
              - { from: a, to: b, services: [modbus] }
            """
        let workspace = try SiteFixture.workspace(site)
        let unprobed = ProbePlanner(site: workspace.resolved, flows: workspace.flows).unprobed()
        #expect(
            unprobed.contains {
                $0.flow.contains("modbus/modbus") && $0.flow.contains("(c)")
                    && $0.reason.contains("no gateway of the site joins 'a' and 'c'")
            }, "\(unprobed)")
        #expect(
            unprobed.contains { $0.flow.contains("dhcp/dhcp") && $0.reason.contains("no router forwards") },
            "\(unprobed)")
        // a -> b goes through gw and is probed.
        #expect(!unprobed.contains { $0.flow.contains("(b)") }, "\(unprobed)")
        #expect(unprobed.count == 2)
    }

    @Test func everyExampleHasEveryAllowedFlowProbed() throws {
        for name in Repository.exampleNames {
            let workspace = try Workspace.load(site: Repository.example(name), profiles: Repository.profiles)
            let unprobed = ProbePlanner(site: workspace.resolved, flows: workspace.flows).unprobed()
            #expect(unprobed.isEmpty, "\(name): \(unprobed)")
        }
    }
}

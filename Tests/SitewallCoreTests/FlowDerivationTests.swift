import SitewallTestSupport
import Testing

@testable import SitewallCore

@Suite struct FlowDerivationTests {
    static let twoZones = """
        site: t
        zones:
          sup: { networks: [10.0.2.0/24, "2001:db8:2::/64"] }
          ctl: { networks: [10.0.1.0/24] }
        hosts:
          scada: { addresses: [10.0.2.10, "2001:db8:2::10"], roles: [plant-scada/alarm-server, modbus/client] }
          hmi: { addresses: [10.0.2.50, "2001:db8:2::50"], roles: [plant-scada/client, opto22/pac-control] }
          pac: { address: 10.0.1.20, roles: [opto22/snap-pac] }
          plc: { address: 10.0.1.21, roles: [modbus/server] }
          gw: { gateway: { interfaces: { sup: eth1, ctl: eth2 } } }
        conduits:
          - { from: sup, to: ctl, services: [opto22/pac-control-host, modbus] }
        """

    @Test func flowsFollowInitiatorToListener() throws {
        let workspace = try SiteFixture.workspace(Self.twoZones)
        let alarm = workspace.flows.filter { $0.service.id == "plant-scada/alarm" && $0.family == .ipv4 }
        #expect(alarm.count == 1)
        #expect(Set(alarm[0].initiators.map(\.host)) == ["scada", "hmi"])
        #expect(alarm[0].listeners.map(\.host) == ["scada"])
        #expect(alarm[0].allowed && !alarm[0].crossesZones)
    }

    @Test func crossZoneFlowsNeedAConduitAndAreReported() throws {
        let workspace = try SiteFixture.workspace(Self.twoZones)
        let host = workspace.flows.first { $0.service.id == "opto22/pac-control-host" }
        #expect(host?.allowed == true && host?.conduit != nil)
        let optommp = try #require(workspace.flows.first { $0.service.id == "opto22/optommp" })
        #expect(!optommp.allowed)
        let warnings = workspace.findings().filter { $0.severity == .warning }
        #expect(warnings.contains { $0.message.contains("opto22/optommp") && $0.message.contains("stays blocked") })
        #expect(warnings.contains { ($0.fix ?? "").contains("services: [opto22/optommp]") })
    }

    @Test func ipv6FlowsStayWithinTheirFamily() throws {
        let workspace = try SiteFixture.workspace(Self.twoZones)
        let v6 = workspace.flows.filter { $0.family == .ipv6 }
        #expect(!v6.isEmpty)
        #expect(
            v6.allSatisfy {
                $0.initiators.allSatisfy { $0.address.family == .ipv6 }
                    && $0.listeners.allSatisfy { $0.address.family == .ipv6 }
            })
        // The PAC has no IPv6 address, so no IPv6 flow reaches it.
        #expect(!v6.contains { $0.listeners.contains { $0.host == "pac" } })
    }

    @Test func peerServicesFlowBothWays() throws {
        let workspace = try SiteFixture.workspace(
            """
            site: t
            zones:
              b: { networks: [10.0.0.0/24] }
            hosts:
              ahu-1: { address: 10.0.0.1, roles: [bacnet/device] }
              ahu-2: { address: 10.0.0.2, roles: [bacnet/device] }
            """)
        let policy = workspace.policy(for: Target(kind: .host, name: "ahu-1"))
        let input = try #require(policy.table.chain(named: "input")?.rules.last)
        let output = try #require(policy.table.chain(named: "output")?.rules.last)
        #expect(input.sport == PortSet(47808) && input.dport == PortSet(47808))
        #expect(output.sport == PortSet(47808) && output.dport == PortSet(47808))
        // The sender may reach the zone's broadcast addresses (Who-Is).
        guard case .set(let name)? = output.daddr else {
            Issue.record("no daddr set")
            return
        }
        let elements = policy.table.set(named: name)?.elements.map(\.description) ?? []
        #expect(
            elements.contains("10.0.0.255") && elements.contains("255.255.255.255") && elements.contains("10.0.0.2"))
    }

    @Test func perHostPortOverrideChangesOnlyThatHost() throws {
        let workspace = try SiteFixture.workspace(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              s1: { address: 10.0.0.1, roles: [plant-scada/io-server] }
              s2: { address: 10.0.0.2, roles: [plant-scada/io-server], ports: { plant-scada/io: 2182 } }
              hmi: { address: 10.0.0.9, roles: [plant-scada/client] }
            """)
        let output = workspace.policy(for: Target(kind: .host, name: "hmi")).table.chain(named: "output")!.rules
        let io = output.filter { $0.origin?.service == "plant-scada/io" }.compactMap(\.dport)
        #expect(Set(io) == [PortSet(2082), PortSet(2182)])
        let s2input = workspace.policy(for: Target(kind: .host, name: "s2")).table.chain(named: "input")!.rules
        #expect(s2input.contains { $0.dport == PortSet(2182) } && !s2input.contains { $0.dport == PortSet(2082) })
    }

    @Test func dhcpIsAcceptedFromUnaddressedClientsAndAnswered() throws {
        let workspace = try SiteFixture.workspace(
            try String(contentsOfFile: Repository.example("megapower-video"), encoding: .utf8))
        let server = workspace.policy(for: Target(kind: .host, name: "dhcp-1")).table
        let input = server.chain(named: "input")!.rules.first { $0.dport == PortSet(67) }
        #expect(input?.saddr == nil && input?.sport == PortSet(68))
        #expect(server.chain(named: "output")!.rules.contains { $0.sport == PortSet(67) && $0.dport == PortSet(68) })
        let client = workspace.policy(for: Target(kind: .host, name: "mpcpu-1")).table
        #expect(
            client.chain(named: "input")!.rules.contains {
                $0.sport == PortSet(67) && $0.dport == PortSet(68) && $0.saddr != nil
            })
    }

    @Test func gatewayForwardsOnlyConduitFlowsByInterface() throws {
        let workspace = try SiteFixture.workspace(Self.twoZones)
        let policy = workspace.policy(for: Target(kind: .gateway, name: "gw"))
        let forward = policy.table.chain(named: "forward")!.rules.filter { $0.origin?.kind == .flow }
        #expect(Set(forward.compactMap(\.origin?.service)) == ["opto22/pac-control-host", "modbus/modbus"])
        #expect(forward.allSatisfy { $0.iifname == "eth1" && $0.oifname == "eth2" })
        #expect(policy.table.chain(named: "forward")?.policy == .drop)
    }

    /// Hosts go into sets: ten times the hosts, the same rules.
    @Test func ruleCountDoesNotGrowWithHosts() throws {
        func site(_ clients: Int) -> String {
            var text = """
                site: t
                zones:
                  sup: { networks: [10.1.0.0/16] }
                  ctl: { networks: [10.2.0.0/16] }
                hosts:
                  gw: { gateway: { interfaces: { sup: eth1, ctl: eth2 } } }
                  scada: { address: 10.1.0.1, roles: [plant-scada/alarm-server, plant-scada/io-server, modbus/client] }

                """
            for i in 0..<clients {
                text += "  hmi-\(i): { address: 10.1.\(1 + i / 200).\(i % 200 + 10), roles: [plant-scada/client] }\n"
                text += "  plc-\(i): { address: 10.2.\(1 + i / 200).\(i % 200 + 10), roles: [modbus/server] }\n"
            }
            text += "conduits:\n  - { from: sup, to: ctl, services: [modbus] }\n"
            return text
        }
        func counts(_ n: Int) throws -> (rules: Int, elements: Int) {
            let workspace = try SiteFixture.workspace(site(n))
            var rules = 0
            var elements = 0
            for name in ["gw", "scada"] {
                let table = workspace.policy(for: workspace.compiler.targets.first { $0.name == name }!).table
                rules += table.chains.reduce(0) { $0 + $1.rules.count }
                elements += table.sets.reduce(0) { $0 + $1.elements.count }
            }
            return (rules, elements)
        }
        let small = try counts(10)
        let large = try counts(400)
        #expect(small.rules == large.rules)
        #expect(large.elements > small.elements * 10)
    }
}

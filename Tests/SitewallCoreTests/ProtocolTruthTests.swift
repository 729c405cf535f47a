import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 12: protocols as they are, in the rules.
@Suite struct ProtocolTruthTests {
    /// 2: a symmetric service's source port is its own (possibly overridden) port.
    @Test func bacnetSourcePortFollowsAPortOverride() throws {
        let workspace = try SiteFixture.workspace(ProtocolTruthSites.bacnetMoved)
        let moved = try #require(workspace.policy(for: Target(kind: .host, name: "ahu-2")).table.chain(named: "output"))
        let out = moved.rules.filter { $0.origin?.service == "bacnet/bacnet" && $0.origin?.kind == .flow }
        #expect(!out.isEmpty)
        // ahu-2 sends from its own port 47809, never from 47808.
        for rule in out { #expect(rule.sport == PortSet(47809), "\(NftBackend.render(rule))") }
        let other = try #require(workspace.policy(for: Target(kind: .host, name: "ahu-1")).table.chain(named: "input"))
        let accepted = other.rules.filter { $0.origin?.service == "bacnet/bacnet" && $0.origin?.kind == .flow }
        #expect(
            accepted.contains { $0.sport == PortSet(47809) && $0.dport == PortSet(47808) },
            "\(accepted.map(NftBackend.render))")
        #expect(!accepted.contains { $0.sport == PortSet(47808) && $0.dport == PortSet(47809) })
    }

    /// 3: every rule cites the vendor rows of both sides, the listener's included.
    @Test func listenerCitationsReachTheRules() throws {
        let workspace = try SiteFixture.workspace(
            """
            site: t
            zones:
              ctl: { networks: [10.0.1.0/24] }
            hosts:
              pac: { address: 10.0.1.20, roles: [opto22/snap-pac] }
              eng: { address: 10.0.1.30, roles: [modbus/client] }
            """)
        let modbus = try #require(workspace.flows.first { $0.service.id == "modbus/modbus" })
        let sources = modbus.citations.map(\.short).joined(separator: " | ")
        // The Opto 22 document's row for Modbus/TCP on the SNAP PAC (the listener) is cited.
        #expect(modbus.citations.contains { $0.short.contains("controllers table '502 Modbus/TCP'") }, "\(sources)")
    }

    /// 7: DHCP (v4) rules are IPv4 only: no `meta nfproto ipv6 udp sport 68 udp dport 67`.
    @Test func dhcpv4StaysIPv4() throws {
        let workspace = try SiteFixture.workspace(
            """
            site: t
            zones:
              lan: { networks: [10.0.5.0/24, "2001:db8:5::/64"] }
            hosts:
              dhcp-1: { addresses: [10.0.5.2, "2001:db8:5::2"], roles: [dhcp/server] }
              cam-1: { addresses: [10.0.5.30, "2001:db8:5::30"], roles: [dhcp/client] }
            """)
        for name in ["dhcp-1", "cam-1"] {
            let policy = workspace.policy(for: Target(kind: .host, name: name))
            for chain in policy.table.chains {
                for rule in chain.rules where rule.origin?.service == "dhcp/dhcp" {
                    #expect(rule.family == .ipv4, "\(name) \(chain.name): \(NftBackend.render(rule))")
                }
            }
        }
    }

    /// 1: a listener with several addresses accepts the broadcasts of the zone it serves (on that
    /// zone's interface, for a gateway), and a client with several addresses may send from 0.0.0.0.
    @Test func broadcastsReachAHostWithSeveralAddresses() throws {
        let workspace = try SiteFixture.workspace(ProtocolTruthSites.dhcpOnAGateway)
        let gateway = try #require(
            workspace.policy(for: Target(kind: .gateway, name: "gw")).table.chain(named: "input"))
        let dhcp = gateway.rules.filter { $0.origin?.service == "dhcp/dhcp" && $0.origin?.kind == .flow }
        let rule = try #require(dhcp.first, "\(gateway.rules.map(NftBackend.render))")
        guard case .addresses(let accepted) = rule.daddr else {
            Issue.record("no address match: \(NftBackend.render(rule))")
            return
        }
        #expect(accepted.contains(IPAddress("255.255.255.255")!), "\(NftBackend.render(rule))")
        #expect(accepted.contains(IPAddress("10.0.4.255")!), "\(NftBackend.render(rule))")
        #expect(accepted.contains(IPAddress("10.0.4.1")!))
        #expect(!accepted.contains(IPAddress("10.0.1.1")!), "only the address in the zone it serves")
        #expect(rule.iifname == "eth4", "\(NftBackend.render(rule))")

        let nvr = try #require(workspace.policy(for: Target(kind: .host, name: "nvr")).table.chain(named: "output"))
        let discover = try #require(nvr.rules.first { $0.origin?.service == "dhcp/dhcp" && $0.origin?.kind == .flow })
        guard case .addresses(let sources) = discover.saddr else {
            Issue.record("no source match: \(NftBackend.render(discover))")
            return
        }
        #expect(sources.contains(IPAddress("0.0.0.0")!), "\(NftBackend.render(discover))")
        // The server's answer reaches the multi-homed client at the broadcast address too.
        let input = try #require(workspace.policy(for: Target(kind: .host, name: "nvr")).table.chain(named: "input"))
        let offer = try #require(input.rules.first { $0.origin?.service == "dhcp/dhcp" && $0.origin?.kind == .reply })
        guard case .addresses(let offered) = offer.daddr else {
            Issue.record("no address match: \(NftBackend.render(offer))")
            return
        }
        #expect(offered.contains(IPAddress("255.255.255.255")!), "\(NftBackend.render(offer))")
    }

    /// 9: a standby server synchronises its time with the time source too (2088 reached only clients).
    @Test func standbyServersSyncTheirTime() throws {
        let workspace = try Workspace.load(site: Repository.example("plant-scada"), profiles: Repository.profiles)
        let sync = workspace.flows.filter { $0.service.id == "plant-scada/time-sync" && $0.allowed }
        #expect(sync.contains { $0.initiators.contains { $0.host == "scada-standby" } }, "\(sync.map(\.initiators))")
        let output = try #require(
            workspace.policy(for: Target(kind: .host, name: "scada-standby")).table.chain(named: "output"))
        #expect(output.rules.contains { $0.origin?.service == "plant-scada/time-sync" && $0.dport == PortSet(2088) })
    }

    /// 4: SNMP traps are one service: a SNAP PAC's traps reach the Genetec plugin.
    @Test func aSnapPacsTrapsReachTheGenetecPlugin() throws {
        let workspace = try SiteFixture.workspace(
            """
            site: t
            zones:
              bms: { networks: [10.0.4.0/24] }
            hosts:
              pac: { address: 10.0.4.20, roles: [opto22/snap-pac] }
              sc: { address: 10.0.4.10, roles: [genetec-iiot/snmp] }
            """)
        let traps = workspace.flows.filter { $0.service.id == "snmp/trap" && $0.allowed }
        #expect(
            traps.contains { group in
                group.initiators.contains { $0.host == "pac" } && group.listeners.contains { $0.host == "sc" }
            }, "\(workspace.flows.map(\.service.id))")
    }
}

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

    /// 5: class 1 I/O runs between a scanner and its adapters, both ways and across a conduit, never
    /// between two adapters; ListIdentity goes to the broadcast and its answers get rules.
    @Test func ethernetIPRunsBetweenScannerAndAdaptersOnly() throws {
        let workspace = try SiteFixture.workspace(
            """
            site: t
            zones:
              sup: { networks: [10.0.2.0/24] }
              cell: { networks: [10.0.1.0/24] }
            hosts:
              scanner: { address: 10.0.2.5, roles: [ethernet-ip/scanner] }
              pac-1: { address: 10.0.1.11, roles: [opto22/snap-pac] }
              pac-2: { address: 10.0.1.12, roles: [ethernet-ip/adapter] }
              gw: { addresses: [10.0.2.1, 10.0.1.1], gateway: { interfaces: { sup: eth0, cell: eth1 } } }
            conduits:
              - { from: sup, to: cell, services: [ethernet-ip] }
            """)
        let io = workspace.flows.filter { $0.service.id == "ethernet-ip/io" }
        for group in io {
            let from = Set(group.initiators.map(\.host))
            let to = Set(group.listeners.map(\.host))
            #expect(from.isDisjoint(with: to) && (from == ["scanner"] || to == ["scanner"]), "\(group.summary)")
            #expect(group.allowed, "\(group.summary)")
        }
        #expect(io.contains { !$0.reverse } && io.contains { $0.reverse })
        let forward = try #require(
            workspace.policy(for: Target(kind: .gateway, name: "gw")).table.chain(named: "forward"))
        let ioForward = forward.rules.filter { $0.origin?.service == "ethernet-ip/io" }
        #expect(Set(ioForward.map(\.iifname)) == ["eth0", "eth1"], "\(ioForward.map(NftBackend.render))")
        // pac-2 takes I/O only from the scanner, and sends it to the scanner and to the multicast scope.
        let pac = workspace.policy(for: Target(kind: .host, name: "pac-2"))
        let input = try #require(pac.table.chain(named: "input")).rules.filter {
            $0.origin?.service == "ethernet-ip/io"
        }
        #expect(input.count == 1 && input[0].saddr == .set("ethernet_ip_scanner_v4"), "\(input.map(NftBackend.render))")
        let output = try #require(pac.table.chain(named: "output")).rules.filter {
            $0.origin?.service == "ethernet-ip/io"
        }
        #expect(output.contains { $0.daddr == .network(IPNetwork("239.192.0.0/14")!) })
        #expect(output.contains { $0.transport == .igmp })
        // The scanner asks the broadcast of its zone; answers from 44818 come back by their own rule.
        let scanner = workspace.policy(for: Target(kind: .host, name: "scanner"))
        let asks = try #require(scanner.table.chain(named: "output")).rules.filter {
            $0.origin?.service == "ethernet-ip/list-identity" && $0.origin?.kind == .flow
        }
        let sets = Dictionary(uniqueKeysWithValues: scanner.table.sets.map { ($0.name, $0.elements) })
        #expect(
            asks.contains { rule in
                guard case .set(let name)? = rule.daddr else { return false }
                return sets[name]?.contains(IPAddress("10.0.2.255")!) ?? false
            })
        #expect(
            try #require(scanner.table.chain(named: "input")).rules.contains {
                $0.origin?.service == "ethernet-ip/list-identity" && $0.origin?.kind == .reply
                    && $0.sport == PortSet(44818)
            })
    }

    /// 9: 2087 (system services) is reached by the clients of a node's server processes, as the
    /// profile's documented reading says, and by no server process.
    @Test func systemServicesAreReachedByClientsOnly() throws {
        let workspace = try Workspace.load(site: Repository.example("plant-scada"), profiles: Repository.profiles)
        let groups = workspace.flows.filter { $0.service.id == "plant-scada/system-services" }
        #expect(!groups.isEmpty)
        for group in groups { #expect(group.initiatorRoles == ["plant-scada/client"], "\(group.summary)") }
        let note = try #require(Repository.catalog.services["plant-scada/system-services"]?.note)
        #expect(note.contains("open item") && note.contains("safe reading"))
    }

    /// 6: OPC UA discovery as the profile reads it: clients and registering servers reach the LDS on
    /// TCP 4840, reverse connect runs from the server to the client's given port, and no multicast
    /// discovery (mDNS 5353, 224.0.2.14) is ever opened.
    @Test func opcuaDiscoveryIsUnicastAndReverseConnectDialsOut() throws {
        let site = """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              lds: { address: 10.0.0.2, roles: [opcua/lds] }
              srv: { address: 10.0.0.3, roles: [opcua/server, opcua/reverse-server] }
              cli: { address: 10.0.0.4, roles: [opcua/client, opcua/reverse-client], ports: { opcua/reverse-connect: 4843 } }
              both: { address: 10.0.0.5, roles: [opcua/server, opcua/lds] }
            """
        let clash = SiteFixture.errors(site)
        #expect(
            clash.contains { $0.message.contains("'opcua/discovery' and 'opcua/opcua' both listen on tcp 4840") },
            "\(clash)")
        let workspace = try SiteFixture.workspace(
            site.replacingOccurrences(
                of: "roles: [opcua/server, opcua/lds] }",
                with: "roles: [opcua/server, opcua/lds], ports: { opcua/opcua: 4841 } }"))
        let discovery = workspace.flows.filter { $0.service.id == "opcua/discovery" }
        let askers = Set(discovery.flatMap { $0.initiators.map(\.host) })
        #expect(askers == ["srv", "cli", "both"], "\(askers)")
        let reverse = try #require(workspace.flows.first { $0.service.id == "opcua/reverse-connect" })
        #expect(reverse.initiators.map(\.host) == ["srv"] && reverse.listeners.map(\.host) == ["cli"])
        #expect(reverse.dports == PortSet(4843))
        for target in workspace.compiler.targets {
            for rule in workspace.policy(for: target).table.chains.flatMap(\.rules) {
                #expect(rule.dport.map { !$0.contains(5353) } ?? true, "\(NftBackend.render(rule))")
            }
        }
        // Without its port the reverse-connect client is refused, with the reason.
        let missing = SiteFixture.errors(
            site.replacingOccurrences(of: ", ports: { opcua/reverse-connect: 4843 }", with: ""))
        #expect(missing.contains { $0.message.contains("'opcua/reverse-connect' on host 'cli' has no default port") })
    }

    /// 7: a gateway relays DHCP: it takes the zone's broadcasts on that zone's interface, passes
    /// them 67 -> 67 to the server, and answers the clients; the server takes relayed requests only
    /// from the relay. Without the relay, check says the zone has no way to get a lease.
    @Test func aGatewayRelaysDHCPToAServerInAnotherZone() throws {
        let workspace = try SiteFixture.workspace(ProtocolTruthSites.dhcpRelay)
        #expect(workspace.findings().isEmpty, "\(workspace.findings())")
        let gw = workspace.policy(for: Target(kind: .gateway, name: "gw"))
        let render = { (chain: String) in
            gw.table.chain(named: chain)!.rules.filter { $0.origin?.service?.hasPrefix("dhcp/") ?? false }
                .map(NftBackend.render)
        }
        let input = render("input")
        #expect(
            input.contains { $0.contains("iifname \"eth4\"") && $0.contains("udp sport 68 udp dport 67") }, "\(input)")
        let output = render("output")
        #expect(
            output.contains { $0.contains("udp sport 67 udp dport 67") && !$0.contains("ip saddr") },
            "\(output)")
        #expect(output.contains { $0.contains("udp sport 67 udp dport 68") }, "\(output)")
        let server = workspace.policy(for: Target(kind: .host, name: "dhcp-1"))
        let relayed = server.table.chain(named: "input")!.rules.filter { $0.origin?.service == "dhcp/relayed" }
        #expect(relayed.count == 1 && relayed[0].sport == PortSet(67) && relayed[0].saddr != nil)
        let sets = Dictionary(uniqueKeysWithValues: server.table.sets.map { ($0.name, $0.elements) })
        if case .set(let name)? = relayed.first?.saddr {
            #expect(Set(sets[name] ?? []) == [IPAddress("10.0.1.1")!, IPAddress("10.0.4.1")!])
        }
        // The server answers at the relay's address in the cameras' zone (giaddr), found with dnsmasq
        // by the interop suite: its own rule out of the server and into the gateway.
        let answer = server.table.chain(named: "output")!.rules.filter {
            $0.origin?.service == "dhcp/relayed" && $0.origin?.kind == .reply
        }
        if case .set(let name)? = answer.first?.daddr {
            #expect(Set(sets[name] ?? []) == [IPAddress("10.0.1.1")!, IPAddress("10.0.4.1")!])
        } else {
            Issue.record("no answer rule for relayed requests: \(answer.map(NftBackend.render))")
        }
        #expect(input.contains { $0.contains("udp sport 67 udp dport 67") && !$0.contains("ip daddr") }, "\(input)")
        // The same site without the relay: the camera zone has no DHCP server and check says so.
        let noRelay = SiteFixture.diagnostics(
            ProtocolTruthSites.dhcpRelay.replacingOccurrences(of: "roles: [dhcp/relay]", with: "roles: []"))
        #expect(
            noRelay.contains {
                $0.message.contains("broadcast from hosts with no address yet")
                    && $0.fix?.contains("dhcp/relay") == true
            }, "\(noRelay)")
    }
}

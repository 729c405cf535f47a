import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 12, "a broken site must not pass": each way a newcomer's site can silently mean something
/// else is reported by `check` (errors where the site cannot be what was meant, warnings otherwise).
@Suite struct BrokenSiteTests {
    static let twoZones = """
        site: t
        zones:
          a: { networks: [10.0.0.0/24] }
          b: { networks: [10.0.1.0/24] }
        """

    static func messages(_ yaml: String, _ severity: Diagnostic.Severity) -> [String] {
        SiteFixture.diagnostics(yaml).filter { $0.severity == severity }.map(\.description)
    }

    @Test func aGatewayMissingAZonesInterfaceIsAnError() {
        let site =
            Self.twoZones + """

                hosts:
                  m: { address: 10.0.0.5, roles: [modbus/client] }
                  s: { address: 10.0.1.5, roles: [modbus/server] }
                  gw: { addresses: [10.0.0.1, 10.0.1.1], gateway: { interfaces: { a: eth0 } } }
                conduits:
                  - { from: a, to: b, services: [modbus] }
                """
        let errors = Self.messages(site, .error)
        #expect(
            errors.contains {
                $0.contains("site.yaml:8:31:") && $0.contains("gateway 'gw' has address 10.0.1.1 in zone 'b'")
                    && $0.contains("add 'b: IFNAME'")
            }, "\(errors)")
    }

    @Test func aConduitNoGatewayJoinsIsReported() {
        let site =
            Self.twoZones + """

                  c: { networks: [10.0.2.0/24] }
                hosts:
                  m: { address: 10.0.0.5, roles: [modbus/client] }
                  s: { address: 10.0.2.5, roles: [modbus/server] }
                  gw: { addresses: [10.0.0.1, 10.0.1.1], gateway: { interfaces: { a: eth0, b: eth1 } } }
                conduits:
                  - { from: a, to: c, services: [modbus] }
                """
        let warnings = Self.messages(site, .warning)
        #expect(warnings.contains { $0.contains("no gateway of the site joins 'a' and 'c'") }, "\(warnings)")
    }

    @Test func aManagementHostWithoutSSHIsAnError() {
        let noClient =
            Self.twoZones + """

                hosts:
                  eng: { address: 10.0.0.5, roles: [modbus/client] }
                  gw:
                    addresses: [10.0.0.1, 10.0.1.1]
                    roles: [ssh/server]
                    management: [eng]
                    gateway: { interfaces: { a: eth0, b: eth1 } }
                """
        let errors = Self.messages(noClient, .error)
        #expect(
            errors.contains { $0.contains("management host 'eng' of 'gw' has no SSH client role") }, "\(errors)")
        // At the entry that names it, after the site as written has been released.
        let located = SiteFixture.errors(noClient).first { $0.message.contains("has no SSH client role") }
        #expect(located?.location.map { "\($0.line):\($0.column)" } == "10:18", "\(String(describing: located))")

        let noServer = noClient.replacingOccurrences(of: "roles: [ssh/server]", with: "roles: []")
            .replacingOccurrences(of: "roles: [modbus/client]", with: "roles: [ssh/client]")
        let serverErrors = Self.messages(noServer, .error)
        #expect(
            serverErrors.contains { $0.contains("host 'gw' names management hosts but runs no SSH server") },
            "\(serverErrors)")

        // Both roles, but the station sits in another zone with no conduit for SSH.
        let farAway = """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
              b: { networks: [10.0.1.0/24] }
            hosts:
              eng: { address: 10.0.1.5, roles: [ssh/client] }
              plc: { address: 10.0.0.7, roles: [ssh/server, modbus/server], management: [eng] }
            """
        let pathErrors = Self.messages(farAway, .error)
        #expect(
            pathErrors.contains {
                $0.contains("management host 'eng' (b) could not reach 'plc' (a) over SSH")
                    && $0.contains("from: b, to: a, services: [ssh]")
            }, "\(pathErrors)")
        // With the conduit it is clean.
        #expect(Self.messages(farAway + "\nconduits:\n  - { from: b, to: a, services: [ssh] }\n", .error).isEmpty)
    }

    @Test func anIPv6OnlyHostThatGetsNoFlowsIsReported() {
        let site = """
            site: t
            zones:
              a: { networks: [10.0.0.0/24, "2001:db8::/64"] }
            hosts:
              m: { address: "2001:db8::5", roles: [modbus/client] }
              s: { address: 10.0.0.6, roles: [modbus/server] }
              d: { address: "2001:db8::7", roles: [dhcp/server] }
            """
        let warnings = Self.messages(site, .warning)
        #expect(
            warnings.contains {
                $0.contains("host 'm' has IPv6 addresses only, but every host offering 'modbus/modbus' has IPv4")
            }, "\(warnings)")
        #expect(
            warnings.contains { $0.contains("'dhcp/dhcp' is IPv4 only, and host 'd' has no such address") },
            "\(warnings)")
    }

    @Test func anUnusedConduitAndAUseNobodyOffersAreReported() {
        let site =
            Self.twoZones + """

                hosts:
                  m: { address: 10.0.0.5, roles: [modbus/client, ntp/client] }
                  s: { address: 10.0.1.5, roles: [modbus/server] }
                conduits:
                  - { from: a, to: b, services: [modbus, snmp] }
                """
        let warnings = Self.messages(site, .warning)
        #expect(
            warnings.contains {
                $0.contains("site.yaml:9:42:") && $0.contains("lists 'snmp', but no host in 'a' uses it")
            }, "\(warnings)")
        #expect(!warnings.contains { $0.contains("lists 'modbus'") }, "\(warnings)")
        #expect(
            warnings.contains { $0.contains("m uses 'ntp/ntp' (role ntp/client), but no host of the site offers it") },
            "\(warnings)")
    }

    @Test func anOptionalUseDoesNotWarn() {
        // A SNAP PAC uses BootP only when it is enabled: a site of static addresses has no server.
        let site = """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              pac: { address: 10.0.0.5, roles: [opto22/snap-pac] }
            """
        #expect(!Self.messages(site, .warning).contains { $0.contains("dhcp") })
    }

    @Test func anAcknowledgedBlockSilencesItsWarning() throws {
        let gap =
            Self.twoZones + """

                hosts:
                  m: { address: 10.0.0.5, roles: [modbus/client] }
                  s: { address: 10.0.1.5, roles: [modbus/server] }
                """
        #expect(Self.messages(gap, .warning).contains { $0.contains("no conduit lets m (a) -> s (b)") })

        let acknowledged = gap + "\nblocked:\n  - { from: a, to: b, services: [modbus], why: \"read by hand\" }\n"
        #expect(Self.messages(acknowledged, .warning).isEmpty, "\(Self.messages(acknowledged, .warning))")
        #expect(Self.messages(acknowledged, .error).isEmpty)

        // Without a reason it is refused; a stale one warns; one that contradicts a conduit is an error.
        let noReason = gap + "\nblocked:\n  - { from: a, to: b, services: [modbus] }\n"
        #expect(Self.messages(noReason, .error).contains { $0.contains("a blocked entry needs 'why: ...'") })
        let stale = gap + "\nblocked:\n  - { from: b, to: a, services: [modbus], why: \"x\" }\n"
        #expect(Self.messages(stale, .warning).contains { $0.contains("but no role implies such a flow") })
        let both =
            acknowledged.replacingOccurrences(
                of: "blocked:", with: "conduits:\n  - { from: a, to: b, services: [modbus] }\nblocked:")
        #expect(
            Self.messages(both, .error).contains { $0.contains("is both blocked and allowed by a conduit") },
            "\(Self.messages(both, .error))")
    }

    @Test func checkStrictFailsOnWarnings() throws {
        let scratch = try ScratchDirectory("sitewall-strict")
        let site = scratch.path + "/gap.yaml"
        try
            (Self.twoZones + """

                hosts:
                  m: { address: 10.0.0.5, roles: [modbus/client] }
                  s: { address: 10.0.1.5, roles: [modbus/server] }
                """).write(toFile: site, atomically: true, encoding: .utf8)
        let run = { (arguments: [String]) in
            try Run.program(Repository.executable, arguments + ["--profiles", Repository.profiles])
        }
        let plain = try run(["check", site])
        #expect(plain.status == 0, "\(plain.stderr)")
        let strict = try run(["check", "--strict", site])
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("0 errors, 1 warning (--strict: warnings fail)"), "\(strict.stdout)")
        for name in Repository.exampleNames {
            let example = try run(["check", "--strict", Repository.example(name)])
            #expect(example.status == 0, "\(name): \(example.stderr)")
        }
    }
}

import SitewallTestSupport
import Testing

@testable import SitewallCore

@Suite struct SiteValidationTests {
    @Test func unknownRoleHasPositionAndSuggestion() throws {
        let errors = SiteFixture.errors(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              s: { address: 10.0.0.1, roles: [plant-scada/alarm-srv] }
            """)
        let error = try #require(errors.first)
        #expect(error.location?.description == "site.yaml:5:35")
        #expect(error.fix?.contains("did you mean 'plant-scada/alarm-server'?") == true)
    }

    @Test func unknownZonesInHostConduitAndGateway() {
        let errors = SiteFixture.errors(
            """
            site: t
            zones:
              supervisory: { networks: [10.0.0.0/24] }
              control: { networks: [10.0.1.0/24] }
            hosts:
              s: { address: 10.0.0.1, zone: supervisroy, roles: [ntp/server] }
              gw: { gateway: { interfaces: { contol: eth1 } } }
            conduits:
              - { from: supervisory, to: controll, services: [ntp] }
            """)
        let fixes = errors.compactMap(\.fix)
        #expect(fixes.contains("did you mean 'supervisory'?"))
        #expect(fixes.filter { $0 == "did you mean 'control'?" }.count == 2)
        #expect(errors.map { $0.location?.line ?? 0 }.sorted() == [6, 7, 9])
    }

    @Test func duplicateHostsAndAddresses() {
        let errors = SiteFixture.errors(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              s: { address: 10.0.0.1, roles: [ntp/server] }
              t: { address: 10.0.0.1, roles: [ntp/client] }
              s: { address: 10.0.0.3, roles: [ntp/client] }
            """)
        #expect(errors.contains { $0.message == "'s' appears twice in the same mapping" && $0.location?.line == 7 })
        // A large mapping (a site's hosts) remembers its keys in a table: the same check, at every size.
        let many = (0..<300).map { "  h\($0): { address: 10.0.\($0 / 200).\($0 % 200 + 1), roles: [ntp/client] }" }
        let large = SiteFixture.errors(
            "site: t\nzones:\n  a: { networks: [10.0.0.0/16] }\nhosts:\n" + many.joined(separator: "\n")
                + "\n  h3: { address: 10.0.9.1, roles: [ntp/client] }\n  h1: { address: 10.0.9.2, roles: [ntp/client] }"
        )
        #expect(
            large.map { "\($0.location?.line ?? 0) \($0.message)" } == [
                "305 'h3' appears twice in the same mapping"
            ])
        let addresses = SiteFixture.errors(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              s: { address: 10.0.0.1, roles: [ntp/server] }
              t: { address: 10.0.0.1, roles: [ntp/client] }
            """)
        #expect(addresses.contains { $0.message.contains("already used by 's'") && $0.location?.line == 6 })
        // Every later entry names the first that wrote the address, in the order the site writes them.
        let repeats = SiteFixture.errors(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24, "2001:db8::/64"] }
            hosts:
              s: { addresses: ["2001:db8::1", 10.0.0.1], roles: [ntp/server] }
              t: { address: 10.0.0.1, roles: [ntp/client] }
              u: { addresses: [10.0.0.2, "2001:db8::1", 10.0.0.1], roles: [ntp/client] }
              v: { addresses: [10.0.0.3, 10.0.0.3], roles: [ntp/client] }
            """
        ).filter { $0.message.contains("already used") }
        #expect(
            repeats.map { "\($0.location?.line ?? 0):\($0.location?.column ?? 0) \($0.message)" } == [
                "6:17 address 10.0.0.1 of 't' is already used by 's'",
                "7:30 address 2001:db8::1 of 'u' is already used by 's'",
                "7:45 address 10.0.0.1 of 'u' is already used by 's'",
                "8:30 address 10.0.0.3 of 'v' is already used by 'v'",
            ])
    }

    @Test func addressOutsideItsZone() {
        let diagnostics = SiteFixture.diagnostics(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
              b: { networks: [10.0.1.0/24] }
            hosts:
              s: { address: 10.0.1.5, zone: a, roles: [ntp/server] }
              u: { address: 192.168.9.9, roles: [ntp/client] }
            """)
        #expect(
            diagnostics.contains {
                $0.severity == .error && $0.message.contains("lies in zone 'b', not in its given zone 'a'")
            })
        #expect(
            diagnostics.contains {
                $0.severity == .error && $0.message.contains("192.168.9.9") && $0.message.contains("no zone")
            })
    }

    @Test func yamlSyntaxErrorHasLine() throws {
        let errors = SiteFixture.errors("site: t\nzones:\n  a: { networks: [10.0.0.0/24]\nhosts: {}\n")
        let error = try #require(errors.first)
        #expect(error.message.hasPrefix("YAML syntax"))
        #expect((error.location?.line ?? 0) >= 3)
    }

    @Test func badAddressesAndNetworks() {
        let errors = SiteFixture.errors(
            """
            site: t
            zones:
              a: { networks: [10.0.0.1/24, 10.0.0.0/33] }
            hosts:
              s: { address: 10.0.0.256, roles: [ntp/server] }
            """)
        #expect(errors.filter { $0.message.contains("is not a network prefix") }.count == 2)
        #expect(errors.contains { $0.message.contains("'10.0.0.256' is not an IPv4 or IPv6 address") })
    }

    @Test func unknownKeysGetSuggestions() {
        let errors = SiteFixture.errors(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              s: { adress: 10.0.0.1, roles: [ntp/server] }
            """)
        #expect(
            errors.contains { $0.message == "unknown key 'adress' in host 's'" && $0.fix == "did you mean 'address'?" })
    }

    @Test(arguments: [
        #"  "evil\" accept; #": { address: 10.0.0.1, roles: [ntp/server] }"#,
        #"  "a b": { address: 10.0.0.1, roles: [ntp/server] }"#,
        "  gw: { address: 10.0.0.1, gateway: { interfaces: { a: \"eth0\\\" accept\" } } }",
    ])
    func namesThatCouldInjectNftSyntaxAreRefused(_ line: String) {
        let errors = SiteFixture.errors("site: t\nzones:\n  a: { networks: [10.0.0.0/24] }\nhosts:\n\(line)\n")
        #expect(!errors.isEmpty)
        #expect(errors.allSatisfy { $0.location?.line == 5 })
    }

    @Test func unknownConduitServiceSuggestsProfileOrService() {
        let errors = SiteFixture.errors(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
              b: { networks: [10.0.1.0/24] }
            hosts:
              s: { address: 10.0.0.1, roles: [ntp/server] }
            conduits:
              - { from: a, to: b, services: [modbos] }
            """)
        #expect(
            errors.contains { $0.message.contains("unknown service 'modbos'") && $0.fix == "did you mean 'modbus'?" })
    }
}

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

/// What the per-host reading of the performance round must keep as it was (its review's findings).
@Suite struct ReadingKeepsItsMessagesTests {
    static let header = "site: t\nzones:\n  a: { networks: [10.0.0.0/24] }\n  b: { networks: [10.0.1.0/24] }\n"

    /// A key a mapping may not have is reported once and then reads as absent.
    @Test func aKeyABlockedEntryMayNotHaveIsOnlyReported() {
        let errors = SiteFixture.errors(
            Self.header + "hosts:\n  s: { address: 10.0.0.1, roles: [modbus/server] }\n"
                + "blocked:\n  - { from: a, to: b, services: [modbus], why: test, from-hosts: [nosuch] }\n")
        #expect(errors.map(\.message) == ["unknown key 'from-hosts' in a blocked entry"], "\(errors)")
    }

    /// Keys are the same when Swift's strings are: canonically equivalent text is a repeat.
    @Test(arguments: [("caf\u{E9}", "cafe\u{301}"), ("K1", "\u{212A}1"), ("a;b", "a\u{37E}b")])
    func canonicallyEquivalentKeysAreRepeats(_ first: String, _ second: String) {
        let entry = { (name: String, n: Int) in "  \"\(name)\": { address: 10.0.0.\(n), roles: [modbus/server] }\n" }
        let small = SiteFixture.errors(Self.header + "hosts:\n" + entry(first, 1) + entry(second, 2))
        #expect(small.contains { $0.message.hasSuffix("appears twice in the same mapping") }, "\(small)")
        // A mapping past 32 keys checks them in a hash table.
        let many = (0..<40).map { entry("h\($0)", $0 + 10) }.joined()
        let large = SiteFixture.errors(Self.header + "hosts:\n" + entry(first, 1) + many + entry(second, 2))
        #expect(large.contains { $0.message.hasSuffix("appears twice in the same mapping") }, "\(large)")
    }

    /// A list's shape is reported before the values that are no address, as before.
    @Test func addressErrorsComeAfterTheListsShape() {
        let errors = SiteFixture.errors(
            Self.header + "hosts:\n  s: { addresses: [nonsense, [10.0.0.1]], roles: [modbus/server] }\n")
        #expect(
            errors.prefix(2).map(\.message) == [
                "addresses must be a single value", "'nonsense' is not an IPv4 or IPv6 address",
            ], "\(errors)")
    }

    /// "-0" is no port (a lone port is digits only).
    @Test func aSignedZeroIsNoPort() {
        #expect(PortSet(text: "-0") == nil && PortSet(text: "502") == PortSet(502))
        let errors = SiteFixture.errors(
            Self.header + "hosts:\n  s: { address: 10.0.0.1, roles: [modbus/server], ports: { modbus/modbus: -0 } }\n")
        #expect(errors.contains { $0.message.contains("'-0' is not a port or port range") }, "\(errors)")
    }
}

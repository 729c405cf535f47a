import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 12, 8: a vendor's never-open range holds on the product's own roles (strictly), not on every
/// host that runs any role of the vendor.
@Suite struct NeverOpenScopeTests {
    static func errors(roles: String, ports: String) -> [String] {
        SiteFixture.errors(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              h: { address: 10.0.0.5, roles: [\(roles)], ports: { \(ports) } }
            """
        ).map(\.message)
    }

    @Test func optoReservedPortsHoldOnControllersOnly() {
        // A PAC Control PC is no controller: its MQTT broker may listen on 50500.
        #expect(Self.errors(roles: "opto22/pac-control, mqtt/broker", ports: "mqtt/mqtt: 50500").isEmpty)
        // On a SNAP PAC the range stays closed.
        let onController = Self.errors(roles: "opto22/snap-pac, mqtt/broker", ports: "mqtt/mqtt: 50500")
        #expect(onController.contains { $0.contains("never allows") && $0.contains("50500") }, "\(onController)")
    }

    @Test func plantScadaLegacyPortsHoldOnServersOnly() {
        #expect(Self.errors(roles: "plant-scada/client, modbus/server", ports: "modbus/modbus: 2075").isEmpty)
        let onServer = Self.errors(roles: "plant-scada/io-server, modbus/server", ports: "modbus/modbus: 2075")
        #expect(onServer.contains { $0.contains("never allows") && $0.contains("2075") }, "\(onServer)")
    }

    @Test func aConstraintNamingAnUnknownRoleIsAnError() throws {
        let catalog = Repository.catalog
        for profile in catalog.profiles {
            for constraint in profile.constraints {
                for role in constraint.roles ?? [] { #expect(catalog.roles[role] != nil, "\(role)") }
            }
        }
    }
}

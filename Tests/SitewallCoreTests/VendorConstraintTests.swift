import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Each vendor constraint, and each of its error paths.
@Suite struct VendorConstraintTests {
    static func site(_ hosts: String) -> String {
        """
        site: t
        zones:
          a: { networks: [10.0.0.0/24] }
        hosts:
        \(hosts)
        """
    }

    @Test func plantSCADAReservedPortQuotesTheVendor() throws {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  scada:
                    address: 10.0.0.1
                    roles: [plant-scada/alarm-server]
                    ports: { plant-scada/alarm: 2082 }
                """))
        let error = try #require(errors.first)
        #expect(error.message.contains("Invalid port number (2080-2088,2073,3073,5482,20222 are reserved)."))
        #expect(error.message.contains("2082"))
        #expect(error.location?.description == "site.yaml:8:14")
    }

    @Test func plantSCADAReservedGapPortIsAlsoRefused() {
        // 2081 belongs to no process but lies in the reserved 2080-2088.
        let errors = SiteFixture.errors(
            Self.site(
                """
                  scada: { address: 10.0.0.1, roles: [plant-scada/trends-server], ports: { plant-scada/trends: 2081 } }
                """))
        #expect(errors.count == 1 && errors[0].message.contains("reserved"))
    }

    @Test func plantSCADAOwnDefaultAndFreePortsAreFine() {
        #expect(
            SiteFixture.errors(
                Self.site(
                    """
                      scada: { address: 10.0.0.1, roles: [plant-scada/alarm-server], \
                    ports: { plant-scada/alarm: 2080 } }
                      scada2: { address: 10.0.0.2, roles: [plant-scada/alarm-server], \
                    ports: { plant-scada/alarm: 2180 } }
                    """)
            ).isEmpty)
    }

    @Test func plantSCADALegacyPortsAreNeverOpened() {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  scada: { address: 10.0.0.1, roles: [plant-scada/io-server], ports: { plant-scada/io: 2076 } }
                """))
        #expect(errors.contains { $0.message.contains("2076") && $0.message.contains("no longer used") })
    }

    @Test func plantSCADAAlarmDatabaseIsNeverReachable() throws {
        let workspace = try SiteFixture.workspace(
            Self.site(
                """
                  scada: { address: 10.0.0.1, roles: [plant-scada/alarm-server] }
                  hmi: { address: 10.0.0.2, roles: [plant-scada/client] }
                """))
        let policy = workspace.policy(for: Target(kind: .host, name: "scada"))
        let ports = policy.table.chains.flatMap(\.rules).compactMap(\.dport)
        #expect(!ports.contains { $0.contains(5482) })
        #expect(ports.contains { $0.contains(2080) })
        // Moving another process onto 5482 is refused.
        let errors = SiteFixture.errors(
            Self.site(
                """
                  scada: { address: 10.0.0.1, roles: [plant-scada/alarm-server], ports: { plant-scada/alarm: 5482 } }
                """))
        #expect(errors.contains { $0.message.contains("5482") })
    }

    @Test func plantSCADATwoIOServersOnOneHostNeedDistinctPorts() {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  scada: { address: 10.0.0.1, roles: [plant-scada/io-server, plant-scada/odbc-server], \
                ports: { plant-scada/odbc: 2082 } }
                """))
        #expect(errors.contains { $0.message.contains("reserved") })
    }

    @Test(arguments: [22004, 22005, 49152, 49999, 51000, 65535])
    func optoChartLogicAllowedPorts(_ port: Int) {
        #expect(
            SiteFixture.errors(
                Self.site(
                    """
                      pac: { address: 10.0.0.1, roles: [opto22/chart-logic-server], \
                    ports: { opto22/chart-logic: \(port) } }
                    """)
            ).isEmpty)
    }

    @Test(arguments: [22003, 22006, 30000, 49151, 50000, 50999])
    func optoChartLogicForbiddenPorts(_ port: Int) throws {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  pac: { address: 10.0.0.1, roles: [opto22/chart-logic-server], ports: { opto22/chart-logic: \(port) } }
                """))
        let error = try #require(errors.first)
        #expect(error.message.contains("\(port)"))
        #expect(error.location?.line == 5)
    }

    @Test func optoInternalRangeIsNeverOpenedEvenByAnotherProduct() {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  pac: { address: 10.0.0.1, roles: [opto22/snap-pac, modbus/server], ports: { modbus/modbus: 50010 } }
                """))
        #expect(errors.contains { $0.message.contains("50010") && $0.message.contains("never allows") })
    }

    @Test func optoChartLogicNeedsAPort() {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  pac: { address: 10.0.0.1, roles: [opto22/chart-logic-server] }
                """))
        #expect(errors.contains { $0.message.contains("opto22/chart-logic") && $0.message.contains("no default port") })
    }

    @Test(arguments: ["genetec-iiot/tcp-server", "genetec-iiot/http-server", "genetec-iiot/mqtt-broker"])
    func genetecConnectionsWithoutDefaultNeedAPort(_ role: String) throws {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  sc: { address: 10.0.0.1, roles: [\(role)] }
                """))
        let error = try #require(errors.first)
        #expect(error.message.contains("no default port"))
        #expect(error.fix?.contains("ports: { \(role): ") == true)
        #expect(
            SiteFixture.errors(
                Self.site(
                    """
                      sc: { address: 10.0.0.1, roles: [\(role)], ports: { \(role): 42100 } }
                    """)
            ).isEmpty)
    }

    @Test func genetecTrapPortCannotBeChanged() throws {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  sc: { address: 10.0.0.1, roles: [genetec-iiot/snmp], ports: { snmp/trap: 1162 } }
                """))
        let error = try #require(errors.first)
        #expect(error.message.contains("outside the ports Security Center"), "\(error.message)")
        #expect(error.message.contains("UDP 162 is not configurable"))
    }

    /// Issue 12, 4: however the trap service comes in (here also as an SNMP manager), 162 holds on a plugin host.
    @Test func genetecTrapPortHoldsWhicheverRoleBringsTheService() throws {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  sc: { address: 10.0.0.1, roles: [genetec-iiot/snmp, snmp/manager], ports: { snmp/trap: 1162 } }
                """))
        #expect(errors.contains { $0.message.contains("UDP 162 is not configurable") }, "\(errors)")
        // A plain SNMP manager may move its trap port.
        #expect(
            SiteFixture.errors(
                Self.site(
                    """
                      nms: { address: 10.0.0.2, roles: [snmp/manager], ports: { snmp/trap: 1162 } }
                    """)
            ).isEmpty)
    }

    @Test func overrideForAServiceTheHostDoesNotOfferIsRefused() {
        let errors = SiteFixture.errors(
            Self.site(
                """
                  sc: { address: 10.0.0.1, roles: [plant-scada/client], ports: { plant-scada/alarm: 2180 } }
                """))
        #expect(errors.contains { $0.message.contains("none of its roles listens on it") })
    }

    /// Issue 12, 9: Genetec's BACnet device row says "Configurable: No": a device the plugin talks to
    /// stays on 47808, while the plugin's own port ("Yes") may move.
    @Test func aGenetecPluginsBACnetDevicesStayOn47808() {
        let site = """
            site: t
            zones:
              b: { networks: [10.0.3.0/24] }
            hosts:
              sc: { address: 10.0.3.10, roles: [genetec-iiot/plugin, genetec-iiot/bacnet]PLUGIN }
              ahu: { address: 10.0.3.101, roles: [bacnet/device]DEVICE }
            """
        let moved = SiteFixture.errors(
            site.replacingOccurrences(of: "PLUGIN", with: "")
                .replacingOccurrences(of: "DEVICE", with: ", ports: { bacnet/bacnet: 47809 }"))
        #expect(
            moved.contains {
                // At the port entry that moves it, not the host.
                $0.description.contains("site.yaml:6:64:")
                    && $0.message.contains("'bacnet/bacnet' on host 'ahu' uses port 47809")
                    && $0.message.contains("BACnet device | UDP 47808 (default) | No")
            }, "\(moved)")
        let pluginMoved = SiteFixture.errors(
            site.replacingOccurrences(of: "PLUGIN", with: ", ports: { bacnet/bacnet: 47809 }")
                .replacingOccurrences(of: "DEVICE", with: ""))
        #expect(pluginMoved.isEmpty, "\(pluginMoved)")
    }
}

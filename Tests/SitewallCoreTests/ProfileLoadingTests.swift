import SitewallTestSupport
import Testing

@testable import SitewallCore

@Suite struct ProfileLoadingTests {
    @Test func shippedProfilesLoadWithoutErrors() throws {
        var log = DiagnosticLog()
        let catalog = ProfileLoader.load(directory: Repository.profiles, log: &log)
        #expect(log.diagnostics.isEmpty, "\(log.diagnostics)")
        for name in [
            "plant-scada", "genetec-iiot", "opto22", "megapower", "ntp", "smtp", "dhcp", "tftp", "snmp",
            "mqtt", "modbus", "bacnet", "opcua", "postgresql",
        ] {
            #expect(catalog.profile(named: name) != nil, "missing profile \(name)")
        }
    }

    @Test func everyServiceCitesASourceAndEveryRoleResolves() {
        let catalog = Repository.catalog
        for service in catalog.services.values {
            #expect(!service.citations.isEmpty, "\(service.id) cites nothing")
            #expect(!service.transports.isEmpty, "\(service.id) has no transport")
        }
        for role in catalog.roles.values {
            for endpoint in role.offers + role.uses {
                #expect(catalog.services[endpoint.service] != nil, "\(role.id) -> \(endpoint.service)")
            }
        }
    }

    @Test func vendorFactsAreEncoded() throws {
        let catalog = Repository.catalog
        let db = try #require(catalog.services["plant-scada/alarm-db"])
        #expect(db.scope == .loopback)
        let ntp = try #require(catalog.roles["megapower/cpu"]?.uses.first { $0.service == "ntp/ntp" })
        #expect(ntp.sourcePorts == PortSet(123))
        let bacnet = try #require(catalog.services["bacnet/bacnet"])
        #expect(bacnet.initiation == .peer && bacnet.broadcast && bacnet.sourcePorts == PortSet(47808))
        #expect(catalog.services["tftp/tftp"]?.helper == .tftp)
        #expect(catalog.services["megapower/snapshot"]?.helper == .tftp)
        #expect(catalog.services["ftp/ftp"]?.helper == .ftp)
        // One SNMP trap service; Genetec pins it to 162 on its plugin host by a constraint.
        #expect(catalog.services["genetec-iiot/snmp-trap"] == nil)
        #expect(
            catalog.profile(named: "genetec-iiot")?.constraints.contains {
                $0.kind == .allowedPorts(service: "snmp/trap") && $0.ports == PortSet(162)
            } == true)
        for id in [
            "genetec-iiot/tcp-server", "genetec-iiot/http-server", "genetec-iiot/mqtt-broker", "opto22/chart-logic",
        ] {
            #expect(catalog.services[id]?.ports == nil, "\(id) must have no default port")
        }
    }

    @Test func profileErrorsNameFileAndLine() {
        var log = DiagnosticLog()
        let text = """
            profile: broken
            services:
              svc:
                transport: sctp
                port: 70000
            roles:
              r:
                offers: [nope]
            """
        _ = ProfileLoader.parse(text, file: "broken.yaml", log: &log)
        let messages = log.diagnostics.map(\.description)
        #expect(messages.contains { $0.hasPrefix("broken.yaml:4:") && $0.contains("unknown transport 'sctp'") })
        #expect(messages.contains { $0.hasPrefix("broken.yaml:5:") && $0.contains("not a port") })
        #expect(messages.contains { $0.contains("cites no source") })
    }

    @Test func unknownServiceInRoleGetsSuggestion() {
        var log = DiagnosticLog()
        let text = """
            profile: typo
            services:
              alarm: { transport: tcp, port: 2080, cite: ["doc.txt: row"] }
            roles:
              r: { offers: [alarn] }
            """
        let profile = ProfileLoader.parse(text, file: "typo.yaml", log: &log)!
        ProfileLoader.checkReferences(ProfileCatalog(profiles: [profile]), log: &log)
        #expect(
            log.diagnostics.contains {
                $0.message.contains("typo/alarn") && ($0.fix ?? "").contains("did you mean 'typo/alarm'")
            })
    }
}

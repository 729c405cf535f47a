import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Every port row of the four vendor documents must appear in a profile, citing that document.
@Suite struct SeedCoverageTests {
    struct Row: CustomStringConvertible {
        var document: String
        var ports: String
        var what: String
        /// A range rule (reserved, never open, allowed for chart logic) rather than a service port.
        var rule = false
        var description: String { "\(document) \(ports) (\(what))" }
    }

    static let plantSCADA = "aveva-server-processes"
    static let genetec = "genetec-iiot-ports"
    static let opto = "opto22-ports"
    static let megapower = "megapower-cpu-ports"

    /// Transcribed by hand from the four vendor documents (Profiles/profile-set.yaml), one entry per port row.
    static let rows: [Row] = [
        Row(document: plantSCADA, ports: "2073", what: "CtAPI"),
        Row(document: plantSCADA, ports: "2080", what: "Alarm server"),
        Row(document: plantSCADA, ports: "2082", what: "I/O server"),
        Row(document: plantSCADA, ports: "2084", what: "Reports server"),
        Row(document: plantSCADA, ports: "2085", what: "Trends server"),
        Row(document: plantSCADA, ports: "2087", what: "System services"),
        Row(document: plantSCADA, ports: "2088", what: "Time synchronization"),
        Row(document: plantSCADA, ports: "3073", what: "CtAPI encrypted"),
        Row(document: plantSCADA, ports: "5482", what: "Alarm server database"),
        Row(document: plantSCADA, ports: "20222", what: "ODBC server"),
        Row(document: plantSCADA, ports: "2074-2079", what: "legacy, no longer used", rule: true),
        Row(document: plantSCADA, ports: "2080-2088,2073,3073,5482,20222", what: "reserved list", rule: true),
        Row(document: genetec, ports: "47808", what: "BACnet"),
        Row(document: genetec, ports: "502", what: "Modbus"),
        Row(document: genetec, ports: "4840", what: "OPC LDS TCP and UDP"),
        Row(document: genetec, ports: "48250", what: "OPC command and control"),
        Row(document: genetec, ports: "48255", what: "OPC UA server"),
        Row(document: genetec, ports: "161", what: "SNMP polling"),
        Row(document: genetec, ports: "162", what: "SNMP traps"),
        Row(document: genetec, ports: "56789", what: "HTTP server"),
        Row(document: genetec, ports: "42000", what: "TCP client"),
        Row(document: genetec, ports: "8883", what: "MQTT client"),
        Row(document: genetec, ports: "9090", what: "Genetec Time Series"),
        Row(document: genetec, ports: "5432", what: "PostgreSQL"),
        Row(document: opto, ports: "22004-22005", what: "user chart logic", rule: true),
        Row(document: opto, ports: "49152-49999", what: "user chart logic", rule: true),
        Row(document: opto, ports: "51000-65535", what: "user chart logic", rule: true),
        Row(document: opto, ports: "0-22003", what: "IANA, not for chart logic", rule: true),
        Row(document: opto, ports: "22006-49151", what: "IANA, not for chart logic", rule: true),
        Row(document: opto, ports: "50000-50999", what: "internal to PAC controllers", rule: true),
        Row(document: opto, ports: "2001", what: "OptoMMP host port"),
        Row(document: opto, ports: "2002", what: "OptoControl peer / groov Find"),
        Row(document: opto, ports: "2003", what: "OptoControl peer"),
        Row(document: opto, ports: "22000", what: "reserved for future use", rule: true),
        Row(document: opto, ports: "22001", what: "PAC Control host port"),
        Row(document: opto, ports: "22002", what: "background download"),
        Row(document: opto, ports: "22003", what: "reserved for future use", rule: true),
        Row(document: opto, ports: "22500-22531", what: "SCM"),
        Row(document: opto, ports: "20", what: "FTP data"),
        Row(document: opto, ports: "21", what: "FTP"),
        Row(document: opto, ports: "25", what: "SMTP"),
        Row(document: opto, ports: "67", what: "BootP server"),
        Row(document: opto, ports: "68", what: "BootP client"),
        Row(document: opto, ports: "161", what: "SNMP"),
        Row(document: opto, ports: "162", what: "SNMP traps"),
        Row(document: opto, ports: "502", what: "Modbus/TCP"),
        Row(document: opto, ports: "2222", what: "EtherNet/IP I/O"),
        Row(document: opto, ports: "23567", what: "redundancy"),
        Row(document: opto, ports: "44818", what: "EtherNet/IP explicit"),
        Row(document: opto, ports: "443", what: "groov App"),
        Row(document: opto, ports: "8443", what: "groov App"),
        Row(document: opto, ports: "1880", what: "Node-RED"),
        Row(document: opto, ports: "3000", what: "Node-RED Admin"),
        Row(document: opto, ports: "10000", what: "groov Admin"),
        Row(document: opto, ports: "0-1023", what: "IANA well known", rule: true),
        Row(document: opto, ports: "1024-22003", what: "IANA registered, below 22004 and 22005", rule: true),
        Row(document: opto, ports: "22006-49151", what: "IANA registered, above 22004 and 22005", rule: true),
        Row(document: megapower, ports: "514", what: "activity logging"),
        Row(document: megapower, ports: "4001", what: "EASY CPU"),
        Row(document: megapower, ports: "69", what: "snapshot and time/firmware TFTP"),
        Row(document: megapower, ports: "123", what: "NTP 123 to 123"),
        Row(document: megapower, ports: "25", what: "alarm e-mail"),
        Row(document: megapower, ports: "67", what: "DHCP server"),
        Row(document: megapower, ports: "68", what: "DHCP source port"),
    ]

    struct Statement {
        var ports: PortSet
        var citations: [Citation]
        var rule = false
    }

    /// Every place a profile states ports, with its citations.
    static func statements(_ catalog: ProfileCatalog) -> [Statement] {
        var result: [Statement] = []
        for service in catalog.services.values {
            for ports in [service.ports, service.sourcePorts, service.relatedPorts, service.examplePorts].compactMap({
                $0
            }) {
                result.append(Statement(ports: ports, citations: service.citations))
            }
        }
        for role in catalog.roles.values {
            for endpoint in role.offers + role.uses {
                guard let service = catalog.services[endpoint.service] else { continue }
                for ports in [service.ports, endpoint.sourcePorts ?? service.sourcePorts, service.relatedPorts]
                    .compactMap({ $0 })
                {
                    result.append(Statement(ports: ports, citations: endpoint.citations))
                }
            }
        }
        for profile in catalog.profiles {
            for constraint in profile.constraints {
                result.append(Statement(ports: constraint.ports, citations: constraint.citations, rule: true))
                // An allowed-ports constraint forbids the gaps between its ranges: each gap is a quoted range.
                if case .allowedPorts = constraint.kind {
                    var next = 0
                    for range in constraint.ports.ranges {
                        if Int(range.lower) > next {
                            result.append(
                                Statement(
                                    ports: PortSet([PortRange(UInt16(next), range.lower - 1)]),
                                    citations: constraint.citations, rule: true))
                        }
                        next = Int(range.upper) + 1
                    }
                }
            }
        }
        return result
    }

    @Test(arguments: rows)
    func rowIsCitedInAProfile(_ row: Row) throws {
        let wanted = try #require(PortSet(text: row.ports))
        // A service port must be stated by a service; a range rule may be stated by a constraint.
        let covered = Self.statements(Repository.catalog).contains { statement in
            (row.rule || !statement.rule) && statement.ports.contains(wanted)
                && statement.citations.contains { $0.document == row.document }
        }
        #expect(covered, "no profile states \(row) with a citation of \(row.document)")
    }

    @Test func everySeedDocumentIsCited() {
        let cited = Set(Self.statements(Repository.catalog).flatMap { $0.citations.map(\.document) })
        for document in [Self.plantSCADA, Self.genetec, Self.opto, Self.megapower] {
            #expect(cited.contains(document))
        }
    }
}

import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 15: least privilege beyond roles and zones: named peers, host groups, clusters and
/// function codes, and what `check` says about them.
@Suite struct NarrowedUseTests {
    static func verdict(
        _ workspace: Workspace, _ target: String, chain: String, from: String, to: String, port: UInt16,
        interface: String? = nil, out: String? = nil
    ) throws -> Verdict {
        let policy = workspace.policy(for: try #require(workspace.compiler.targets.first { $0.name == target }))
        let packet = PolicyEvaluator.Packet(
            source: try #require(IPAddress(from)), destination: try #require(IPAddress(to)), transport: .tcp,
            sourcePort: 40000, destinationPort: port, inInterface: interface, outInterface: out)
        return PolicyEvaluator(policy: policy).verdict(packet, chain: chain)
    }

    static func example(_ name: String) throws -> Workspace {
        try Workspace.load(site: Repository.example(name), profiles: Repository.profiles)
    }

    /// The issue's own example: the campus's IIoT plugin polled both Modbus devices of the control zone.
    @Test func aNamedPeerIsTheOnlyOneReached() throws {
        let campus = try Self.example("campus")
        let plugin = "10.10.3.10"
        #expect(
            try Self.verdict(
                campus, "gw-1", chain: "forward", from: plugin, to: "10.10.1.21", port: 502, interface: "eth3",
                out: "eth2")
                == .accept)
        #expect(
            try Self.verdict(
                campus, "gw-1", chain: "forward", from: plugin, to: "10.10.1.20", port: 502, interface: "eth3",
                out: "eth2")
                == .drop)
        #expect(try Self.verdict(campus, "pac-1", chain: "input", from: plugin, to: "10.10.1.20", port: 502) == .drop)
        // The SCADA servers, which name no peers, still reach both.
        #expect(
            try Self.verdict(
                campus, "gw-1", chain: "forward", from: "10.10.2.10", to: "10.10.1.20", port: 502,
                interface: "eth1", out: "eth2") == .accept)
    }

    /// Groups of peers on a gateway: each server pair reaches its own area; the rules stay apart
    /// instead of merging into one that lets every server reach every device.
    @Test func groupsKeepEachAreaToItsOwnServers() throws {
        let water = try Self.example("water-plant")
        let forward = { (from: String, to: String) in
            try Self.verdict(
                water, "gw", chain: "forward", from: from, to: to, port: 502, interface: "eth1", out: "eth2")
        }
        #expect(try forward("10.30.2.10", "10.30.1.10") == .accept)
        #expect(try forward("10.30.2.11", "10.30.1.11") == .accept)
        #expect(try forward("10.30.2.10", "10.30.1.20") == .drop)
        #expect(try forward("10.30.2.20", "10.30.1.10") == .drop)
        #expect(try forward("10.30.2.21", "10.30.1.21") == .accept)
        let output = { (to: String) in
            try Self.verdict(water, "scada-t1", chain: "output", from: "10.30.2.10", to: to, port: 502)
        }
        #expect(try output("10.30.1.11") == .accept)
        #expect(try output("10.30.1.21") == .drop)
    }

    @Test func clientsReachTheServersOfTheirClustersOnly() throws {
        let water = try Self.example("water-plant")
        // scada-t2 runs the treatment cluster's alarm, I/O and trends servers (its reports server is scada-t1).
        for port: UInt16 in [2080, 2082, 2085, 2087] {
            #expect(
                try Self.verdict(water, "hmi-treat", chain: "output", from: "10.30.2.50", to: "10.30.2.11", port: port)
                    == .accept)
            #expect(
                try Self.verdict(water, "hmi-treat", chain: "output", from: "10.30.2.50", to: "10.30.2.20", port: port)
                    == .drop)
            #expect(
                try Self.verdict(water, "scada-d1", chain: "input", from: "10.30.2.50", to: "10.30.2.20", port: port)
                    == .drop)
        }
        // Server processes reach the servers of other clusters (an alarm server reads any I/O server).
        #expect(
            try Self.verdict(water, "scada-d1", chain: "input", from: "10.30.2.10", to: "10.30.2.20", port: 2082)
                == .accept)
    }

    /// Read-only Modbus: its checks come before the established accept (every segment passes them),
    /// are scoped to the historian and the meters, and iptables refuses them instead of weakening them.
    @Test func readOnlyModbusIsCheckedInEverySegment() throws {
        let water = try Self.example("water-plant")
        let policy = water.policy(for: try water.compiler.target(kind: .gateway, name: "gw"))
        let forward = try #require(policy.table.chain(named: "forward"))
        let established = try #require(forward.rules.firstIndex { $0.ctState == [.established, .related] })
        let screens = forward.rules.indices.filter { forward.rules[$0].payload != nil }
        #expect(screens.count == 8 && screens.allSatisfy { $0 < established })
        for index in screens {
            let rule = forward.rules[index]
            #expect(rule.iifname == "eth0" && rule.dport == PortSet(502))
            guard case .set(let name)? = rule.saddr, case .set(let destinations)? = rule.daddr else {
                Issue.record("no sets")
                continue
            }
            #expect(policy.table.set(named: name)?.elements == [IPAddress("10.40.0.20")!])
            #expect(
                policy.table.set(named: destinations)?.elements == [IPAddress("10.30.1.11")!, IPAddress("10.30.1.21")!])
        }
        // The historian reaches the meters only, and only through the conduit that names them.
        #expect(
            try Self.verdict(
                water, "gw", chain: "forward", from: "10.40.0.20", to: "10.30.1.11", port: 502,
                interface: "eth0", out: "eth2") == .accept)
        #expect(
            try Self.verdict(
                water, "gw", chain: "forward", from: "10.40.0.20", to: "10.30.1.10", port: 502,
                interface: "eth0", out: "eth2") == .drop)
        #expect(throws: IptablesBackend.Unsupported.self) { try IptablesBackend.render(policy, family: .ipv4) }
        // The full clients' rules carry no payload test: their writes pass.
        #expect(forward.rules.filter { $0.iifname == "eth1" }.allSatisfy { $0.payload == nil })
    }

    @Test func readOnlyIsTheNamedListAndFunctionCodesNarrowIt() throws {
        let filter = OperationFilter(.modbus, spec: .readOnly)
        #expect(filter.functionCodes == [1, 2, 3, 4, 7, 11, 12, 17, 24, 43])
        #expect(!filter.functionCodes.contains { [5, 6, 15, 16, 22, 23].contains($0) })
        let both = filter.intersection(OperationFilter(.modbus, spec: .functionCodes([3, 4, 16])))
        #expect(both.functionCodes == [3, 4])
        // A variable-length code is checked by its code alone, ahead of the length checks.
        let tests = ModbusOperations.tests(for: OperationFilter(.modbus, spec: .functionCodes([3, 16])))
        #expect(
            tests.first?.verdict == .accept
                && tests.first?.payload == [
                    PayloadMatch(offset: 7, length: 1, test: .oneOf, values: [[16]])
                ])
        #expect(tests.last?.verdict == .drop && tests.last?.payload == [.present(at: 0)])
    }

    static let site = """
        site: t
        zones:
          sup: { networks: [10.0.0.0/24] }
          ctl: { networks: [10.0.1.0/24] }
        groups:
          devices: [plc-1, plc-2]
        hosts:
          scada: { address: 10.0.0.5, roles: [modbus/client, ntp/client]%USES% }
          plc-1: { address: 10.0.1.5, roles: [modbus/server] }
          plc-2: { address: 10.0.1.6, roles: [modbus/server] }
          time: { address: 10.0.1.7, roles: [ntp/server] }
          gw: { addresses: [10.0.0.1, 10.0.1.1], gateway: { interfaces: { sup: eth0, ctl: eth1 } } }
        conduits:
          - { from: sup, to: ctl, services: [modbus, ntp]%CONDUIT% }
        """

    static func diagnostics(uses: String = "", conduit: String = "") -> [String] {
        let yaml = site.replacingOccurrences(of: "%USES%", with: uses).replacingOccurrences(
            of: "%CONDUIT%", with: conduit)
        return SiteFixture.diagnostics(yaml).map(\.description)
    }

    @Test func aSiteWithNarrowedUsesIsClean() {
        #expect(Self.diagnostics(uses: ", uses: { modbus: { peers: [devices], operations: [3, 16] } }").isEmpty)
        #expect(Self.diagnostics(conduit: ", from-hosts: [scada], to-hosts: [devices, time]").isEmpty)
    }

    @Test(arguments: [
        (", uses: { modbus: [plc-9] }", "names unknown host or group 'plc-9'"),
        (", uses: { modbus: [time] }", "names 'time' as a peer for modbus/modbus, but 'time' does not offer it"),
        (", uses: { ntp: { operations: read-only } }", "'ntp/ntp' has no operation filter, so 'read-only' cannot be"),
        (", uses: { snmp: [plc-1] }", "narrows 'snmp', but none of its roles uses it"),
        (", uses: { modbus: { operations: write-all } }", "unknown operations 'write-all'"),
        (", uses: { modbus: { operations: [3, 300] } }", "'300' is not a function code"),
        (", uses: { modbus: { operaitons: read-only } }", "operaitons"),
        (", uses: { modbus: {} }", "the use of modbus narrows nothing"),
    ])
    func aWrongUseIsAnError(_ uses: String, _ message: String) {
        let found = Self.diagnostics(uses: uses)
        #expect(found.contains { $0.contains(message) && $0.contains("site.yaml:") }, "\(found)")
    }

    @Test func aConduitThatCannotFilterOrNamesStrangersIsAnError() {
        let ntp = Self.diagnostics(conduit: ", operations: read-only").joined(separator: "\n")
        #expect(!ntp.contains("no operation filter"), "modbus has one: \(ntp)")
        let site = Self.site.replacingOccurrences(of: "[modbus, ntp]%CONDUIT%", with: "[ntp], operations: read-only")
            .replacingOccurrences(of: "%USES%", with: "")
        #expect(SiteFixture.errors(site).contains { $0.description.contains("have no operation filter") })
        let strangers = Self.diagnostics(conduit: ", to-hosts: [plc-3]")
        #expect(strangers.contains { $0.contains("the conduit's to-hosts names unknown host or group 'plc-3'") })
    }

    @Test func aConduitNarrowerThanANamedUseIsReported() {
        let found = Self.diagnostics(uses: ", uses: { modbus: [plc-2] }", conduit: ", to-hosts: [plc-1]")
        #expect(
            found.contains {
                $0.contains("warning") && $0.contains("leaves out plc-2, so 'scada' cannot reach its peer 'plc-2'")
                    && $0.contains("to-hosts")
            }, "\(found)")
    }

    @Test func aGroupNamedLikeAHostOrHoldingStrangersIsAnError() {
        let clash = Self.site.replacingOccurrences(of: "devices: [plc-1, plc-2]", with: "plc-1: [plc-2]")
            .replacingOccurrences(of: "%USES%", with: "").replacingOccurrences(of: "%CONDUIT%", with: "")
        #expect(SiteFixture.errors(clash).contains { $0.description.contains("group 'plc-1' has the name of a host") })
        let stranger = Self.site.replacingOccurrences(of: "devices: [plc-1, plc-2]", with: "devices: [plc-1, plc-3]")
            .replacingOccurrences(of: "%USES%", with: "").replacingOccurrences(of: "%CONDUIT%", with: "")
        #expect(
            SiteFixture.errors(stranger).contains {
                $0.description.contains("group 'devices' names unknown host 'plc-3'")
            })
    }

    @Test func aClientWhoseClustersServeNothingIsReported() throws {
        let yaml = """
            site: t
            zones:
              sup: { networks: [10.0.0.0/24] }
            hosts:
              srv: { address: 10.0.0.5, clusters: [a], roles: [plant-scada/alarm-server, plant-scada/io-server,
                     plant-scada/reports-server, plant-scada/trends-server, plant-scada/time-source] }
              hmi: { address: 10.0.0.6, clusters: [b], roles: [plant-scada/client] }
            """
        let found = SiteFixture.diagnostics(yaml).map(\.description)
        #expect(found.contains { $0.contains("'hmi' uses plant-scada/alarm within its clusters (b), but no host") })
        let workspace = try SiteFixture.workspace(yaml)
        let hmi = workspace.policy(for: try workspace.compiler.target(kind: .host, name: "hmi"))
        #expect(hmi.table.chain(named: "output")?.rules.contains { $0.dport == PortSet(2080) } == false)
    }
}

/// The operation filters' tests against whole messages, offline: the first test that holds decides,
/// as the rules do in the chain (none: the message goes on to the usual rules).
@Suite struct OperationFilterMessageTests {
    static func verdict(_ tests: [(payload: [PayloadMatch], verdict: Verdict, why: String)], _ payload: [UInt8])
        -> Verdict?
    {
        tests.first { $0.payload.allSatisfy { $0.holds(in: payload) } }?.verdict
    }

    static let modbus = OperationFilter(.modbus, spec: .readOnly).tests()
    static let read: [UInt8] = ModbusRequest.readRequest
    static let write: [UInt8] = ModbusRequest.writeRequest

    @Test func modbusReadOnlyDecidesEachSegment() {
        #expect(Self.verdict(Self.modbus, Self.read) == .accept)
        #expect(Self.verdict(Self.modbus, Self.write) == .drop)
        #expect(Self.verdict(Self.modbus, Self.read + Self.write) == .drop)
        #expect(Self.verdict(Self.modbus, Self.write + Self.read) == .drop)
        #expect(Self.verdict(Self.modbus, Array(Self.read[..<5])) == .drop)
        // Split after the function code: the head passes as a whole request's start, the tail is dropped.
        #expect(Self.verdict(Self.modbus, Array(Self.read[8...])) == .drop)
        // The unit id does not matter; a wrong length does.
        var unit = Self.read
        unit[6] = 17
        #expect(Self.verdict(Self.modbus, unit) == .accept)
        var long = Self.read
        long[5] = 7
        #expect(Self.verdict(Self.modbus, long) == .drop)
        // Read Device Identification (43/14) passes; 43/13 (CANopen) does not.
        let identification: [UInt8] = [0, 9, 0, 0, 0, 5, 1, 43, 14, 1, 0]
        #expect(Self.verdict(Self.modbus, identification) == .accept)
        var canopen = identification
        canopen[8] = 13
        #expect(Self.verdict(Self.modbus, canopen) == .drop)
        // No payload: left to the usual rules (the handshake, acknowledgements).
        #expect(Self.verdict(Self.modbus, []) == nil)
    }

    static let bacnet = OperationFilter(.bacnet, spec: .readOnly).tests()

    static func frame(_ request: BACnetRequest, forwarded: Bool = false, destination: [UInt8]? = nil) -> [UInt8] {
        var npdu: [UInt8] = [0x01, 0x04]
        if let destination {
            npdu = [0x01, 0x24, 0x00, 0x05, UInt8(destination.count)] + destination + [0xff]
        }
        let body = npdu + request.apdu
        let bvlc: [UInt8] =
            forwarded
            ? [0x81, 0x04] + Bytes.be16(UInt16(10 + body.count)) + [10, 0, 0, 5, 0xba, 0xc0]
            : [0x81, 0x0a] + Bytes.be16(UInt16(4 + body.count))
        return bvlc + body
    }

    @Test(arguments: [nil, [], [7], [10, 0, 0, 9, 0xba, 0xc0]] as [[UInt8]?])
    func bacnetReadOnlyPassesReadsOnly(_ destination: [UInt8]?) {
        #expect(Self.verdict(Self.bacnet, Self.frame(.readProperty, destination: destination)) == .accept)
        #expect(Self.verdict(Self.bacnet, Self.frame(.writeProperty, destination: destination)) == .drop)
        #expect(Self.verdict(Self.bacnet, Self.frame(.reinitializeDevice, destination: destination)) == .drop)
    }

    @Test func bacnetReadOnlyKnowsTheOtherLayouts() {
        #expect(Self.verdict(Self.bacnet, Self.frame(.readProperty, forwarded: true)) == .accept)
        #expect(Self.verdict(Self.bacnet, Self.frame(.writeProperty, forwarded: true)) == .drop)
        let whoIs = BACnetRequest.frame(broadcast: true, expectingReply: false, apdu: BACnetRequest.whoIs, trailer: [])
        #expect(Self.verdict(Self.bacnet, whoIs) == .accept)
        // An answer (a ComplexACK) passes; writeGroup (unconfirmed 10) and a segmented request do not.
        let ack = BACnetRequest.frame(broadcast: false, expectingReply: false, apdu: [0x30, 1, 12], trailer: [])
        #expect(Self.verdict(Self.bacnet, ack) == .accept)
        let writeGroup = BACnetRequest.frame(broadcast: true, expectingReply: false, apdu: [0x10, 10], trailer: [])
        #expect(Self.verdict(Self.bacnet, writeGroup) == .drop)
        var segmented = Self.frame(.readProperty)
        segmented[6] = 0x08
        #expect(Self.verdict(Self.bacnet, segmented) == .drop)
        // A network-layer message, or one with a source specifier, is dropped.
        var network = Self.frame(.readProperty)
        network[5] = 0x80
        #expect(Self.verdict(Self.bacnet, network) == .drop)
        var source = Self.frame(.readProperty)
        source[5] = 0x08
        #expect(Self.verdict(Self.bacnet, source) == .drop)
        #expect(Self.verdict(Self.bacnet, Array("SWP REQ 1".utf8)) == .drop)
    }
}

/// What iptables refuses of an operation filter is said once per chain, with the rules it covers.
@Suite struct RefusalSummaryTests {
    @Test func theChecksOfOneFilterAreOneLine() throws {
        let water = try Workspace.load(site: Repository.example("water-plant"), profiles: Repository.profiles)
        let policy = water.policy(for: try water.compiler.target(kind: .gateway, name: "gw"))
        let problems = Backends.unexpressible(policy, by: .iptables)
        #expect(problems.count == 8)
        let merged = Unexpressible.merged(problems)
        #expect(merged.count == 1)
        #expect(merged.first?.description.contains("(gateway gw, chain forward, rules 2-9)") == true, "\(merged)")
        #expect(merged.first?.description.contains("Modbus or BACnet operation filter") == true)
        #expect(Unexpressible.spans([9, 2, 3, 4, 12, 7]) == "2-4, 7, 9, 12")
    }
}

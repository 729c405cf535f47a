import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 16, part 3: the audit report says what the compiled site allows, escapes what the site file
/// says, and its diagram has the site's zones and conduits. (Rendering in Chromium: ReportRenderingTests.)
@Suite struct ReportTests {
    static func report(_ example: String, hostMatrix: Bool = false) throws -> (Workspace, SiteReport) {
        let workspace = try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        return (workspace, try SiteReport(workspace, generator: "test", hostMatrix: hostMatrix))
    }

    /// RFC 4180 records: quoted fields may hold commas, quotes and line breaks.
    static func csvRecords(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" {
                        field.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                record.append(field)
                field = ""
            } else if c == "\r\n" || c == "\n" {
                record.append(field)
                records.append(record)
                (record, field) = ([], "")
            } else {
                field.append(c)
            }
        }
        return records
    }

    @Test(arguments: Repository.exampleNames)
    func theDiagramAndFlowListHoldTheSite(_ example: String) throws {
        let (workspace, report) = try Self.report(example)
        let html = try report.rendered(as: .html)
        let zones = workspace.resolved.zones.map(\.name)
        for zone in zones { #expect(html.contains("<g class=\"zone\" data-zone=\"\(zone)\">"), "\(zone)") }
        #expect(html.components(separatedBy: "<g class=\"zone\"").count - 1 == zones.count)
        let pairs = Set(
            workspace.resolved.site.conduits.filter { $0.from.value != $0.to.value }.map {
                [$0.from.value, $0.to.value]
            })
        #expect(html.components(separatedBy: "<g class=\"conduit").count - 1 == pairs.count)
        // One CSV record per allowed flow group, each with every column.
        let records = Self.csvRecords(try report.rendered(as: .csv))
        #expect(records.first == ReportCSV.headers)
        #expect(records.count - 1 == workspace.flows.filter(\.allowed).count)
        #expect(records.allSatisfy { $0.count == ReportCSV.headers.count })
        #expect(records.dropFirst().allSatisfy { !$0[12].isEmpty }, "every flow cites its source")
        let markdown = try report.rendered(as: .md)
        for section in ["## Zones and conduits", "```mermaid", "## Flow matrix", "## Allowed flows", "## Findings"] {
            #expect(markdown.contains(section))
        }
        // Self-contained: nothing to fetch, and a policy that forbids fetching anyway.
        for reference in ["src=", "href=\"http", "url(http", "@import"] { #expect(!html.contains(reference)) }
        #expect(html.contains("content=\"default-src 'none'"))
    }

    /// Each host's exposure names the same peers as `explain --to` does, service by service.
    @Test(arguments: Repository.exampleNames)
    func exposureAgreesWithExplain(_ example: String) throws {
        let (workspace, report) = try Self.report(example)
        for host in report.exposure {
            let reach = try Explainer.reachability(workspace, host: host.host, direction: .to)
            var byService: [String: Set<String>] = [:]
            for flow in reach.flows { byService[flow.service, default: []].formUnion(flow.peers.map(\.host)) }
            let listed = Dictionary(uniqueKeysWithValues: host.listens.map { ($0.service, Set($0.from)) })
            #expect(listed.filter { !$0.value.isEmpty } == byService, "\(example) \(host.host)")
        }
    }

    @Test func theCampusMatrixAndExposureSayWhoReachesPLC1() throws {
        let (_, report) = try Self.report("campus", hostMatrix: true)
        let cell = { (from: String, to: String) in
            report.hostMatrix?.first { $0.from == from && $0.to == to }?.services ?? []
        }
        #expect(cell("sc-plugin", "plc-1").contains("modbus/modbus"))
        #expect(!cell("sc-plugin", "pac-1").contains("modbus/modbus"))
        #expect(
            report.matrix.first { $0.from == "building" && $0.to == "control" }?.services.contains("modbus/modbus")
                == true)
        let plc = try #require(report.exposure.first { $0.host == "plc-1" })
        #expect(plc.listens.first { $0.service == "modbus/modbus" }?.from == ["sc-plugin", "scada-1", "scada-2"])
        #expect(report.documents.contains { $0.id == "genetec-iiot-ports" && $0.flows > 0 })
        #expect(report.findings.isEmpty)
    }

    static let unusedConduit = """
        site: t
        zones:
          a: { networks: [10.0.0.0/24] }
          b: { networks: [10.0.1.0/24] }
        hosts:
          m: { address: 10.0.0.1, roles: [modbus/client] }
          s: { address: 10.0.1.1, roles: [modbus/server] }
        conduits:
          - { from: a, to: b, services: [ntp] }
        blocked:
          - { from: a, to: b, services: [modbus], why: "</td><img src=x onerror=alert(2)> read by hand" }
        """

    @Test func anUnusedConduitAndAnAcknowledgedBlockAreShownAndNothingIsInjected() throws {
        let workspace = try SiteFixture.workspace(Self.unusedConduit, file: "<script>alert(1)</script>.yaml")
        let report = try SiteReport(workspace, generator: "test")
        #expect(report.conduits.first?.unused == ["ntp"])
        #expect(report.findings.contains { $0.message.contains("lists 'ntp'") })
        #expect(report.blocks.first?.why?.contains("read by hand") == true)
        let html = try report.rendered(as: .html)
        #expect(html.contains("<g class=\"conduit unused\">"))
        #expect(!html.contains("<script>alert") && !html.contains("<img src=x"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.yaml"))
        let markdown = try report.rendered(as: .md)
        #expect(!markdown.contains("<img") && !markdown.contains("<script>"))
        #expect(markdown.contains("z0 -.->|\"ntp\"| z1"))
    }

    @Test func aSpreadsheetRunsNoFormulaFromACell() {
        #expect(ReportCSV.field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(ReportCSV.field("@SUM(A1)") == "'@SUM(A1)")
        #expect(ReportCSV.field("a,b") == "\"a,b\"")
        #expect(ReportCSV.field("plain") == "plain")
    }

    @Test func aHostMatrixOfAHugeSiteIsRefusedWithAWayOut() throws {
        let site = SiteGenerator.yaml(hosts: 300)
        let workspace = try Workspace.load(siteText: site, file: "big.yaml", catalog: Repository.catalog)
        #expect(throws: SiteReport.Failure.self) { try SiteReport(workspace, generator: "test", hostMatrix: true) }
        #expect(try SiteReport(workspace, generator: "test").exposure.count == workspace.resolved.hosts.count)
    }
}

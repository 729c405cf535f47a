import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// `sitewall diff OLD NEW --gateway`: what a site change would change, before anyone applies it.
@Suite struct SiteChangeReviewTests {
    static func review(_ edit: (String) -> String, kind: Target.Kind = .gateway, name: String = "gw-1") throws
        -> DiffReport
    {
        let text = try String(contentsOfFile: Repository.example("campus"), encoding: .utf8)
        let old = try SiteFixture.workspace(text, file: "old.yaml")
        let new = try SiteFixture.workspace(edit(text), file: "new.yaml")
        let target = Target(kind: kind, name: name)
        return DiffReport(
            diff: PolicyDiff.compare(expected: new.policy(for: target), running: old.policy(for: target)),
            site: new.resolved, target: target, mode: .review)
    }

    @Test func unchangedSiteHasNoDifferences() throws {
        let report = try Self.review { $0 }
        #expect(report.entries.isEmpty)
        #expect(report.text.contains("no differences: the change does not alter gw-1's rules"))
    }

    @Test func aHostAdded() throws {
        let report = try Self.review {
            $0.replacingOccurrences(
                of: "  bi-1:", with: "  bi-2: { address: 10.20.5.6, roles: [plant-scada/odbc-client] }\n  bi-1:")
        }
        #expect(report.entries.count == 1)
        #expect(
            report.text.contains(
                "+ would: gw-1 forwards tcp/20222 from bi-2 (10.20.5.6) "
                    + "to odbc-1 (set plant_scada_odbc_server_supervisory_v4) (in eth0, out eth1) "
                    + "(missing from set plant_scada_odbc_client_enterprise_v4)"
            ),
            "\(report.text)")
        #expect(report.text.contains("1 change: 1 added, 0 removed"))
    }

    @Test func aRoleRemoved() throws {
        let report = try Self.review {
            $0.replacingOccurrences(of: "roles: [opto22/snap-pac, ntp/client]", with: "roles: [opto22/snap-pac]")
        }
        #expect(report.entries.contains { $0.service == "ntp/ntp" && $0.kind == "rule-extra" })
        #expect(report.text.contains("- would no longer: gw-1 forwards udp/123 from pac-1"))
    }

    @Test func aPortOverridden() throws {
        let report = try Self.review {
            $0.replacingOccurrences(
                of: "odbc-1: { address: 10.10.2.20, roles: [plant-scada/odbc-server] }",
                with:
                    "odbc-1: { address: 10.10.2.20, roles: [plant-scada/odbc-server], "
                    + "ports: { plant-scada/odbc: 20230 } }"
            )
        }
        #expect(report.entries.contains { $0.kind == "rule-missing" && ($0.rule ?? "").contains("tcp dport 20230") })
        #expect(report.entries.contains { $0.kind == "rule-extra" && ($0.rule ?? "").contains("tcp dport 20222") })
        #expect(report.text.contains("plant-scada/odbc  [aveva-server-processes row 20222"))
    }

    @Test func aHostOnlyInOneSiteGainsOrLosesItsTable() throws {
        let text = try String(contentsOfFile: Repository.example("campus"), encoding: .utf8)
        let old = try SiteFixture.workspace(text)
        let new = try SiteFixture.workspace(
            text.replacingOccurrences(
                of: "  bi-1:", with: "  bi-2: { address: 10.20.5.6, roles: [plant-scada/odbc-client] }\n  bi-1:"))
        let target = Target(kind: .host, name: "bi-2")
        let report = DiffReport(
            diff: PolicyDiff.compare(expected: new.policy(for: target), running: nil), site: new.resolved,
            target: target, mode: .review)
        #expect(report.text.contains("+ bi-2 would get table inet sitewall"))
        let reverse = DiffReport(
            diff: PolicyDiff.compare(expected: nil, running: new.policy(for: target)), site: old.resolved,
            target: target, mode: .review)
        #expect(reverse.text.contains("- bi-2 would lose table inet sitewall"))
    }
}

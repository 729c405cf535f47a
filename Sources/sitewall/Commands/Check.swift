import ArgumentParser
import SitewallCore

extension Sitewall {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a site: errors exit 1, warnings (flows without a conduit, shadowed rules) exit 0."
        )

        @OptionGroup var options: SiteOptions

        func run() throws {
            let workspace = try options.load()
            let findings = workspace.findings()
            Output.printDiagnostics(findings)
            let warnings = findings.filter { $0.severity == .warning }.count
            let site = workspace.resolved
            print(
                "\(options.site): \(site.hosts.count) hosts, \(site.zones.count) zones, "
                    + "\(site.conduits.count) conduits, \(workspace.flows.filter(\.allowed).count) "
                    + "allowed flow groups; 0 errors, \(warnings) warning\(warnings == 1 ? "" : "s")"
            )
        }
    }
}

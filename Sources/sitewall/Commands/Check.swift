import ArgumentParser
import SitewallCore

extension Sitewall {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a site: errors exit 1; warnings (flows without a conduit, conduits that carry "
                + "nothing, uses nobody offers, shadowed rules) exit 0, or 1 with --strict.",
            discussion: """
                A flow the roles imply that is meant to stay blocked can be acknowledged in the site file, \
                which silences its warning:
                  blocked:
                    - { from: video, to: supervisory, services: [ntp], why: "the MPCPU keeps its own time" }
                """
        )

        @OptionGroup var options: SiteOptions

        @Flag(help: "Fail (exit 1) when there are warnings too.")
        var strict = false

        func run() throws {
            let workspace = try options.load()
            let findings = workspace.findings()
            Output.printDiagnostics(findings)
            let errors = findings.filter { $0.severity == .error }.count
            let warnings = findings.filter { $0.severity == .warning }.count
            let site = workspace.resolved
            let allowed = workspace.flows.filter(\.allowed).count
            let counts = [
                Self.counted(site.hosts.count, "host"), Self.counted(site.zones.count, "zone"),
                Self.counted(site.conduits.count, "conduit"), Self.counted(allowed, "allowed flow group"),
            ]
            print(
                "\(options.site): \(counts.joined(separator: ", ")); "
                    + "\(Self.counted(errors, "error")), \(Self.counted(warnings, "warning"))"
                    + (strict && warnings > 0 ? " (--strict: warnings fail)" : ""))
            if errors > 0 || (strict && warnings > 0) { throw ExitCode.failure }
        }

        /// "1 conduit", "2 conduits".
        static func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
    }

}

import ArgumentParser
import SitewallCore

extension Sitewall {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a site: errors exit 1; warnings (flows without a conduit, conduits that carry "
                + "nothing, uses nobody offers, shadowed rules) exit 0, or 1 with --strict.",
            discussion: """
                A flow the roles imply that is meant to stay blocked can be acknowledged in the site file, \
                which silences its warning:
                  blocked:
                    - { from: video, to: supervisory, services: [ntp], why: "the MPCPU keeps its own time" }
                With --format json every finding (errors included) goes to stdout as one document: severity, \
                location (file, line, column), message, fix, and the site's counts when it loaded.
                """
        )

        @OptionGroup var options: SiteOptions

        @Flag(help: "Fail (exit 1) when there are warnings too.")
        var strict = false

        @Option(help: "text (default: findings on stderr, a summary on stdout) or json (one document on stdout).")
        var format: OutputFormat = .text

        func run() throws {
            let report: CheckReport
            switch format {
            case .text:
                report = CheckReport(site: options.site, workspace: try options.load(), strict: strict)
                Output.printDiagnostics(report.findings)
                print(report.summary)
            case .json:
                do {
                    let workspace = try Workspace.load(site: options.site, profilePath: options.profilePath())
                    report = CheckReport(site: options.site, workspace: workspace, strict: strict)
                } catch let error as DiagnosticsError {
                    report = CheckReport(site: options.site, findings: error.diagnostics, counts: nil, strict: strict)
                }
                print(try JSONText.encode(report), terminator: "")
            }
            if !report.ok { throw ExitCode.failure }
        }
    }

}

import ArgumentParser
import Foundation
import SitewallCore

extension SiteReport.Format: ExpressibleByArgument {}

extension Sitewall {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Write an audit report of a site: diagram, flow matrix, exposure, flows with vendor sources.",
            discussion: """
                One self-contained HTML page (nothing is fetched when it is opened): the zones and conduits as a \
                diagram, the zone-by-zone flow matrix (host by host with --host-matrix), what each host listens on \
                and who may connect, every allowed flow with the vendor's words and the document they come from, \
                check's findings and the acknowledged blocks. --format md writes the same as Markdown (the diagram \
                as Mermaid), csv the flow list, json the report's data.
                --verify adds verify's results (it builds the namespace lab: root). --running TARGET compares the \
                target's compiled rules with the rules running on this machine, --running TARGET=FILE with a \
                saved 'nft -j list ruleset' (repeatable).
                The report is written whole or not at all; exit 0 when written, 1 when the site has errors or \
                a drift or verify check found a difference, 2 for trouble.
                """
        )

        @OptionGroup var options: SiteOptions

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("Write the report here (default: stdout).", valueName: "file"))
        var output: String?

        @Option(help: "html, md, csv or json (default: from the output's extension, else html).")
        var format: SiteReport.Format?

        @Flag(help: "Add the host-by-host flow matrix (sites of up to 200 hosts).")
        var hostMatrix = false

        @Flag(help: "Prove the rules with packets in a namespace lab (as sitewall verify) and add the results.")
        var verify = false

        @Option(
            help: ArgumentHelp(
                "Compare a target with its running rules: NAME (this machine, via netlink) or NAME=FILE.",
                valueName: "target[=file]"))
        var running: [String] = []

        var chosenFormat: SiteReport.Format {
            if let format { return format }
            let suffix = output.map { ($0 as NSString).pathExtension.lowercased() } ?? ""
            return SiteReport.Format(rawValue: suffix == "markdown" ? "md" : suffix) ?? .html
        }

        /// "sitewall 0.2.0, profiles 2026.11.22": what made the report, without this machine's folders.
        var generator: String {
            var seen = Set<String>()
            let sets = options.profilePath().compactMap { ProfileLoader.setVersion(in: $0.path) }
                .filter { seen.insert($0).inserted }
            return "sitewall \(sitewallVersion)" + (sets.isEmpty ? "" : ", profiles " + sets.joined(separator: " + "))
        }

        func run() throws {
            let workspace = try options.load()
            var verification: VerifyReport?
            if verify {
                do {
                    verification = try Verify.inLab(workspace, options: Verifier.Options())
                } catch {
                    Output.error("verify: \(error)")
                    throw ExitCode.trouble
                }
            }
            var drift: [SiteReport.Drift]?
            do {
                drift =
                    try running.isEmpty
                    ? nil
                    : running.map { spec in
                        let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
                        return try SiteReport.drift(
                            workspace, target: parts[0], savedRuleset: parts.count == 2 ? parts[1] : nil)
                    }
            } catch {
                Output.error("--running: \(error)")
                throw ExitCode.failure
            }
            let text: String
            do {
                let report = try SiteReport(
                    workspace, generator: generator, hostMatrix: hostMatrix, verification: verification,
                    drift: drift)
                text = try report.rendered(as: chosenFormat)
            } catch {
                Output.error("\(error)")
                throw ExitCode.failure
            }
            if let output {
                try Output.writeAtomically(text, to: output)
            } else {
                print(text, terminator: "")
            }
            let differs = (drift ?? []).contains { $0.differences > 0 || $0.error != nil }
            if differs || (verification.map { $0.failed > 0 } ?? false) { throw ExitCode.failure }
        }
    }
}

import ArgumentParser
import Foundation
import SitewallCore

extension Sitewall {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Show how the running rules differ from what the site compiles to, object by object.",
            discussion: """
                sitewall diff SITE --gateway gw-1               compiled site vs the rules running here (via netlink)
                sitewall diff SITE --gateway gw-1 --running F   ... vs a saved 'nft -j list ruleset' (no root needed)
                sitewall diff OLD_SITE NEW_SITE --gateway gw-1  what a site change would change on gw-1
                Exit status as diff(1): 0 no differences, 1 differences, 2 trouble.
                """
        )

        @Argument(help: "The site description (or the old one, with NEW_SITE).")
        var site: String

        @Argument(help: "A new version of the site: review what it would change.")
        var newSite: String?

        @Option(help: ArgumentHelp(ProfileOptions.help, valueName: "folder"))
        var profiles: [String] = []

        @OptionGroup var target: TargetOptions

        @Option(help: "Read the running rules from a saved 'nft -j list ruleset' instead of the kernel.")
        var running: String?

        @Flag(
            help: """
                Compare sitewall's table only: other tables that can drop, reject, NAT or untrack the same traffic \
                are not differences.
                """
        )
        var ownTable = false

        @Option(help: "text or json.")
        var format: OutputFormat = .text

        func validate() throws {
            if newSite != nil && running != nil {
                throw ValidationError("--running compares with a site; give either NEW_SITE or --running")
            }
        }

        func load(_ path: String) throws -> Workspace {
            do {
                return try Workspace.load(site: path, profilePath: ProfileLocator.path(explicit: profiles))
            } catch let error as DiagnosticsError {
                Output.printDiagnostics(error.diagnostics)
                throw ExitCode.trouble
            }
        }

        func run() throws {
            let kind = self.target.kind
            let name = self.target.name
            let report: DiffReport
            do {
                let base = try load(site)
                if let newSite {
                    let updated = try load(newSite)
                    let target = Target(kind: kind, name: name)
                    // A host may exist in only one of the two sites: then it gains or loses its whole table.
                    let old = (try? base.compiler.target(kind: kind, name: name)).map { base.policy(for: $0) }
                    let new = (try? updated.compiler.target(kind: kind, name: name)).map { updated.policy(for: $0) }
                    guard old != nil || new != nil else {
                        Output.error("neither site has a \(kind.rawValue) '\(name)'")
                        throw ExitCode.trouble
                    }
                    report = DiffReport(
                        diff: PolicyDiff.compare(expected: new, running: old), site: updated.resolved, target: target,
                        mode: .review)
                } else {
                    let target = try base.compiler.target(kind: kind, name: name)
                    let expected = base.policy(for: target)
                    let state = try RunningState.read(target: target, site: expected.site, savedRuleset: running)
                    report = DiffReport(
                        diff: PolicyDiff.compare(expected: expected, running: state, ownTableOnly: ownTable),
                        site: base.resolved, target: target,
                        mode: .live, otherChains: state.otherChains)
                }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                Output.error("\(error)")
                throw ExitCode.trouble
            }
            // Warnings are not differences: stderr, so that stdout stays the diff itself.
            if format == .text { for warning in report.warnings { Output.warning(warning) } }
            print(format == .json ? try report.json() : report.text, terminator: "")
            if !report.entries.isEmpty { throw ExitCode.failure }
        }
    }
}

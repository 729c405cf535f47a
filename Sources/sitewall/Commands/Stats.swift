import ArgumentParser
import Foundation
import SitewallCore

extension Sitewall {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Show what each flow's counter has counted on this machine, and what was dropped where.",
            discussion: """
                Needs a site with 'observe: { counters: true }' applied here. Reads table inet sitewall over \
                netlink (or a saved 'nft -j list ruleset' with --running) and maps every named counter back to \
                its flow: packets and bytes per flow (new connections: replies pass as established), the flows \
                not used since the counters started (sitewall apply carries them over; --reset-counters starts \
                them again), and the drops of each chain, per zone pair on a gateway.
                Exit 0, or 1 when the site does not count or the table is not loaded, 2 for trouble.
                """
        )

        @OptionGroup var options: SiteOptions

        @OptionGroup var target: TargetOptions

        @Option(help: "Read the counters from a saved 'nft -j list ruleset' instead of the kernel.")
        var running: String?

        @Option(help: "text or json.")
        var format: OutputFormat = .text

        func run() throws {
            let workspace = try options.load()
            let stats: FlowStats
            do {
                let target = try workspace.compiler.target(kind: self.target.kind, name: self.target.name)
                let policy = workspace.policy(for: target)
                let state = try RunningState.read(target: target, site: policy.site, savedRuleset: running)
                stats = try FlowStats(expected: policy, running: state)
            } catch let error as FlowStats.Failure {
                Output.error("\(error)")
                throw ExitCode.failure
            } catch let error as PolicyCompiler.TargetError {
                Output.error("\(error)")
                throw ExitCode.failure
            } catch {
                // An unreadable saved ruleset, a kernel or netlink error: trouble, as in diff.
                Output.error("\(error)")
                throw ExitCode.trouble
            }
            print(format == .json ? try JSONText.encode(stats) : stats.text, terminator: "")
        }
    }
}

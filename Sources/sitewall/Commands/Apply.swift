import ArgumentParser
import Foundation
import SitewallCore

extension Sitewall {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Apply a host's or gateway's rules to this machine through netlink, in one atomic transaction.",
            discussion: """
                Replaces table inet sitewall in the current network namespace and touches no other table.
                Refuses a ruleset that would cut off the management path (the site's management hosts and
                the SSH connection it runs under) unless --force. With --confirm SECONDS the previous
                ruleset comes back by itself unless 'sitewall confirm' is run in time.
                """
        )

        @OptionGroup var options: SiteOptions

        @OptionGroup var target: TargetOptions

        @Flag(help: "Say what would change and have the kernel check the ruleset, but change nothing.")
        var dryRun = false

        @Flag(help: "Apply even if the management path would be cut.")
        var force = false

        @Option(help: "Roll back to the previous ruleset unless 'sitewall confirm' runs within SECONDS.")
        var confirm: Int?

        @Option(
            help: ArgumentHelp(
                "Also write the nft script of the table here once confirmed; /etc/nftables.conf loads it with "
                    + "include \"PATH\" after its flush ruleset line (sitewall.service needs no such file)."))
        var persist: String?

        @Flag(help: "Start the site's named counters (observe: counters) from zero; by default they keep counting.")
        var resetCounters = false

        @Option(help: "Where --confirm keeps the previous ruleset (default /run/sitewall).")
        var stateDirectory: String = ApplySession.defaultStateDirectory

        func validate() throws {
            if let confirm, !(2...3600).contains(confirm) { throw ValidationError("--confirm takes 2 to 3600 seconds") }
        }

        func run() throws {
            let workspace = try options.load()
            let target: Target
            do {
                target = try workspace.compiler.target(kind: self.target.kind, name: self.target.name)
            } catch {
                Output.error("\(error)")
                throw ExitCode.failure
            }
            let policy = workspace.policy(for: target)
            var session = ApplySession(workspace: workspace, target: target, policy: policy)
            session.stateDirectory = stateDirectory
            session.resetCounters = resetCounters
            do {
                let report = try session.run(
                    dryRun: dryRun, force: force, confirmSeconds: confirm, persistPath: persist,
                    executable: Output.executablePath)
                print(report, terminator: "")
            } catch let error as ApplySession.Refused {
                Output.error(error.description)
                throw ExitCode.failure
            } catch let error as ApplySession.NotPersisted {
                print(error.report, terminator: "")
                Output.error(error.problem)
                throw ExitCode.trouble
            } catch {
                Output.error("\(error)")
                throw ExitCode.trouble
            }
        }
    }
}

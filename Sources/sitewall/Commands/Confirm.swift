import ArgumentParser
import SitewallCore

extension Sitewall {
    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep the ruleset of the last 'apply --confirm' (from the same or a new connection)."
        )

        @Option(help: "The state directory apply used (default /run/sitewall).")
        var stateDirectory: String = ApplySession.defaultStateDirectory

        func run() throws {
            let directory = ApplySession.namespaceDirectory(stateDirectory)
            guard Watchdog.isPending(directory: directory) else {
                Output.error("nothing awaits confirmation in this network namespace")
                throw ExitCode.failure
            }
            guard Watchdog.confirm(directory: directory) else {
                Output.error("the watchdog did not answer; check \(directory)/watchdog.log")
                throw ExitCode(2)
            }
            print("confirmed: the new ruleset stays")
        }
    }

    /// The rollback watchdog that 'apply --confirm' starts; not for direct use.
    struct WatchdogCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "watchdog", shouldDisplay: false)

        @Option var directory: String

        func run() throws {
            _ = Watchdog.run(directory: directory)
        }
    }
}

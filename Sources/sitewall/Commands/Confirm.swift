import ArgumentParser
import Foundation
import SitewallCore

extension Sitewall {
    struct Confirm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "confirm",
            abstract: "Keep the ruleset of the last 'apply --confirm' (from the same or a new connection).",
            discussion: """
                Confirmation and the watchdog's rollback exclude each other: whichever comes first decides, and
                confirm reports a rollback that came first (exit 1). The boot file of 'apply --persist' is written
                now, on confirmation, never for rules that were rolled back.
                """
        )

        @Option(help: "The state directory apply used (default /run/sitewall).")
        var stateDirectory: String = ApplySession.defaultStateDirectory

        func run() throws {
            let decision: Watchdog.Decision
            do {
                decision = try Watchdog.confirm(try StateDirectory.open(base: stateDirectory))
            } catch {
                Output.error("\(error)")
                throw ExitCode.trouble
            }
            switch decision {
            case .nothingPending(let last):
                Output.error(
                    "nothing awaits confirmation in this network namespace"
                        + (last.map { "; the last apply --confirm: \($0)" } ?? ""))
                throw ExitCode.failure
            case .confirmed(let path, let persistError, let dead):
                print("confirmed: the new ruleset stays")
                if dead { print("  (its watchdog had died; nothing would have rolled it back)") }
                if let path {
                    if let persistError {
                        Output.error("the rules stay applied, but the boot file was not written: \(persistError)")
                        throw ExitCode.trouble
                    }
                    print("  wrote \(path) for the nftables boot service")
                }
            }
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Restore the table an unconfirmed 'apply --confirm' replaced, now.",
            discussion: """
                The way out when the watchdog died (killed, out of memory) or when the new rules are plainly
                wrong: restores the saved table exactly as the watchdog would, and ends the pending apply.
                """
        )

        @Option(help: "The state directory apply used (default /run/sitewall).")
        var stateDirectory: String = ApplySession.defaultStateDirectory

        func run() throws {
            do {
                let state = try StateDirectory.open(base: stateDirectory)
                if case .nothingPending(let last) = try Watchdog.rollback(state, reason: "sitewall rollback") {
                    Output.error(
                        "nothing awaits confirmation in this network namespace"
                            + (last.map { "; the last apply --confirm: \($0)" } ?? ""))
                    throw ExitCode.failure
                }
                print(Watchdog.lastOutcome(state) ?? "rolled back")
            } catch let exit as ExitCode {
                throw exit
            } catch {
                Output.error("\(error)")
                throw ExitCode.trouble
            }
        }
    }

    /// The rollback watchdog that 'apply --confirm' starts; not for direct use.
    struct WatchdogCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "watchdog", shouldDisplay: false)

        @Option var stateDirectory: String
        @Option var id: String

        func run() throws {
            _ = Watchdog.run(stateDirectory: stateDirectory, id: id)
        }
    }
}

import ArgumentParser
import Dispatch
import Foundation
import SitewallCore

extension Sitewall {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Prove a compiled site with real packets in a network-namespace lab.",
            discussion: """
                Builds one network namespace per host and gateway (zones are bridges, gateways route
                between them), loads every compiled ruleset, and probes each allowed flow plus what must
                stay closed (neighbouring ports, the reverse direction, flows without a conduit,
                loopback-only and never-open ports). Allowed flows no probe can prove (no gateway joins
                their zones, broadcasts no router forwards) are listed with the reason. Exit 0 if every
                probe matched and every allowed flow was probed (or --accept-unprobed), 1 otherwise,
                2 if the lab could not run. Needs root (it creates network namespaces); nothing runs in
                this machine's own namespace, and the lab is removed on success, failure and Ctrl-C.
                """
        )

        @OptionGroup var options: SiteOptions

        @Option(help: "Output format: text (a table per enforcement point) or json.")
        var format: OutputFormat = .text

        @Option(help: "Seconds a probe waits before it counts as dropped.")
        var timeout: Double = 1.5

        @Option(help: "Host pairs probed per flow group.")
        var pairs: Int = 4

        @Option(
            help: """
                Load the rules with nft (nft -f), netlink (sitewall's own netlink backend) \
                or iptables (iptables-restore).
                """
        )
        var target: BackendKind = .nft

        @Flag(help: "Show only the probes that did not match.")
        var failuresOnly = false

        @Flag(help: "Exit 0 even if some allowed flows could not be probed (they are still listed).")
        var acceptUnprobed = false

        func validate() throws {
            guard target != .json else {
                throw ValidationError("--target json loads nothing: use nft, netlink or iptables")
            }
            guard timeout > 0, timeout <= 30 else {
                throw ValidationError("--timeout must be between 0 and 30 seconds")
            }
            guard pairs >= 1 else { throw ValidationError("--pairs must be at least 1") }
        }

        /// verify's lab run, whose namespaces go on Ctrl-C or a kill too (verify and report --verify).
        static func inLab(_ workspace: Workspace, options: Verifier.Options) throws -> VerifyReport {
            try Lab.removingLabsOnSignals(message: "sitewall: interrupted; the lab was removed") {
                try Verifier.run(workspace, options: options)
            }
        }

        func run() throws {
            let workspace = try options.load()
            var verifyOptions = Verifier.Options()
            verifyOptions.timeout = timeout
            verifyOptions.pairsPerGroup = pairs
            if target == .iptables { verifyOptions.load = Verifier.Options.iptablesLoader }
            if target == .netlink { verifyOptions.load = Verifier.Options.netlinkLoader }
            // Ctrl-C or a kill still removes the lab's namespaces.
            let report: VerifyReport
            do {
                report = try Self.inLab(workspace, options: verifyOptions)
            } catch {
                Output.error("\(error)")
                throw ExitCode.trouble
            }
            print(
                format == .json ? try report.json(onlyFailures: failuresOnly) : report.text(onlyFailures: failuresOnly),
                terminator: "")
            if report.failed > 0 || (!report.unprobed.isEmpty && !acceptUnprobed) { throw ExitCode.failure }
        }
    }
}

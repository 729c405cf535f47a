import ArgumentParser
import Foundation
import SitewallCore

extension Sitewall {
    struct Compile: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compile",
            abstract: "Compile the rules for one host or gateway, or for all of them.",
            discussion: """
                --target nft (default) prints an nft script that replaces table inet sitewall atomically
                when loaded with 'nft -f'. --target iptables prints iptables-save text (IPv4; --family ipv6
                for the ip6tables-restore part); written to files, it gives PATH.v4 and PATH.v6.
                --format json prints the backend-neutral policy instead. With --all, writes one file per
                host and gateway into the --output folder.
                """
        )

        @OptionGroup var options: SiteOptions

        @Option(help: "Compile for this host.")
        var host: String?

        @Option(help: "Compile for this gateway (forward rules per zone pair plus its own input/output).")
        var gateway: String?

        @Flag(help: "Compile every host and gateway (needs --output DIR).")
        var all = false

        @Option(name: [.short, .long], help: "Write to this file (or folder, with --all) instead of standard output.")
        var output: String?

        @Option(help: "The firewall to compile for: nft, iptables (or json: the compiled policy).")
        var target: BackendKind = .nft

        @Option(help: "text (the target's own syntax) or json (the compiled policy).")
        var format: OutputFormat = .text

        @Option(help: "With --target iptables on standard output: ipv4 (iptables-restore) or ipv6 (ip6tables-restore).")
        var family: IPFamily = .ipv4

        @Flag(help: "With --target iptables: only sitewall's chains, for 'iptables-restore --noflush'.")
        var chainsOnly = false

        func validate() throws {
            let chosen = [host != nil, gateway != nil, all].filter { $0 }.count
            guard chosen == 1 else { throw ValidationError("give exactly one of --host NAME, --gateway NAME or --all") }
            if all && output == nil { throw ValidationError("--all writes one file per host: give --output DIR") }
            if target == .netlink {
                throw ValidationError(
                    "--target netlink writes no file: use 'sitewall apply', or compile for nft or iptables")
            }
        }

        /// The backend that writes the files: the policy itself with --format json.
        var backend: any TextBackend.Type {
            (format == .json ? BackendKind.json : target).backend as! any TextBackend.Type
        }

        /// The files one policy becomes: (suffix, text).
        func render(_ policy: Policy) throws -> [(suffix: String, text: String)] {
            var options = RenderOptions()
            options.chainsOnly = chainsOnly
            return try backend.files(policy, options: options)
        }

        func run() throws {
            let workspace = try options.load()
            Output.printDiagnostics(workspace.diagnostics)
            let compiler = workspace.compiler
            let targets: [Target]
            do {
                if let host {
                    targets = [try compiler.target(kind: .host, name: host)]
                } else if let gateway {
                    targets = [try compiler.target(kind: .gateway, name: gateway)]
                } else {
                    targets = compiler.targets
                }
            } catch {
                Output.error("\(error)")
                throw ExitCode.failure
            }
            if all, let output { return try writeAll(targets, workspace: workspace, to: output) }
            // Check the target first: what the backend cannot express is reported, each with the site
            // line it comes from, and nothing is written.
            let policy = workspace.policy(for: targets[0])
            try refuse(Backends.unexpressible(policy, by: backend.kind))
            let files: [(suffix: String, text: String)]
            do {
                files = try render(policy)
            } catch {
                Output.error("\(error); nothing was written")
                throw ExitCode.failure
            }
            if let output {
                for file in files {
                    try Output.writeAtomically(file.text, to: files.count == 1 ? output : "\(output).\(file.suffix)")
                }
            } else {
                let chosen = files.count == 1 ? files[0] : files.first { $0.suffix == (family == .ipv6 ? "v6" : "v4") }!
                print(chosen.text, terminator: "")
            }
        }

        func refuse(_ problems: [Unexpressible]) throws {
            guard !problems.isEmpty else { return }
            for problem in Unexpressible.merged(problems) { Output.error("\(problem)") }
            Output.error(
                "\(problems.count) rule\(problems.count == 1 ? "" : "s") cannot be compiled for \(backend.kind); "
                    + "nothing was written")
            throw ExitCode.refused
        }

        /// One target at a time into a new folder that replaces the old one at the end: memory stays
        /// that of one target, a failure leaves the previous folder as it was, and files of targets no
        /// longer in the site go with the old folder. Every target is checked before anything is kept.
        func writeAll(_ targets: [Target], workspace: Workspace, to output: String) throws {
            var folder: OutputFolder
            do {
                folder = try OutputFolder(replacing: output)
            } catch {
                Output.error("\(error)")
                throw ExitCode.failure
            }
            var problems: [Unexpressible] = []
            var progress = Progress(total: targets.count, what: "compiling")
            var renderer = ClassRenderer(compiler: workspace.compiler, render: render)
            do {
                for target in targets {
                    let policy = workspace.policy(for: target)
                    problems += Backends.unexpressible(policy, by: backend.kind)
                    if problems.isEmpty {
                        for file in try renderer.files(for: policy) {
                            try folder.write(file.text, name: "\(target.name).\(file.suffix)")
                        }
                    }
                    progress.advance()
                }
                progress.finish()
                try refuse(problems)
            } catch {
                progress.finish()
                folder.abandon()
                if error is ExitCode { throw error }
                Output.error("\(error); nothing was written")
                throw ExitCode.failure
            }
            let removed: [String]
            do {
                removed = try folder.commit()
            } catch {
                Output.error("\(error); the folder was left as it was")
                throw ExitCode.failure
            }
            let count = folder.written.count
            print("wrote \(count) file\(count == 1 ? "" : "s") to \(output)")
            if !removed.isEmpty {
                let shown = removed.prefix(10).joined(separator: ", ") + (removed.count > 10 ? ", ..." : "")
                print(
                    "removed \(removed.count) file\(removed.count == 1 ? "" : "s") of targets no longer in the site: \(shown)"
                )
            }
        }
    }
}

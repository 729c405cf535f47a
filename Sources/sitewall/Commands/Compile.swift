import ArgumentParser
import Foundation
import SitewallCore

extension Sitewall {
    struct Compile: ParsableCommand {
        static let configuration = CommandConfiguration(
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
            // Check every target first: everything the backend cannot express is reported at once,
            // each with the site line it comes from, and nothing is written.
            let policies = targets.map { workspace.policy(for: $0) }
            let problems = policies.flatMap { Backends.unexpressible($0, by: backend.kind) }
            if !problems.isEmpty {
                for problem in problems { Output.error("\(problem)") }
                Output.error(
                    "\(problems.count) rule\(problems.count == 1 ? "" : "s") cannot be compiled for \(backend.kind); "
                        + "nothing was written")
                throw ExitCode.refused
            }
            // Render everything before writing anything: bad input leaves no partial output.
            var rendered: [(Target, [(suffix: String, text: String)])] = []
            do {
                for (target, policy) in zip(targets, policies) { rendered.append((target, try render(policy))) }
            } catch {
                Output.error("\(error); nothing was written")
                throw ExitCode.failure
            }
            if all, let output {
                var count = 0
                for (target, files) in rendered {
                    for file in files {
                        try Output.writeAtomically(file.text, to: "\(output)/\(target.name).\(file.suffix)")
                        count += 1
                    }
                }
                print("wrote \(count) file\(count == 1 ? "" : "s") to \(output)")
            } else if let output {
                let files = rendered[0].1
                for file in files {
                    try Output.writeAtomically(file.text, to: files.count == 1 ? output : "\(output).\(file.suffix)")
                }
            } else {
                let files = rendered[0].1
                let chosen = files.count == 1 ? files[0] : files.first { $0.suffix == (family == .ipv6 ? "v6" : "v4") }!
                print(chosen.text, terminator: "")
            }
        }
    }
}

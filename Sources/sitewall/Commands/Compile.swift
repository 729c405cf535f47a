import ArgumentParser
import Foundation
import SitewallCore

extension Sitewall {
    struct Compile: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile the rules for one host or gateway, or for all of them.",
            discussion: """
            Prints an nft script that replaces table inet sitewall atomically when loaded with 'nft -f'.
            With --all, writes one file per host and gateway into the --output folder.
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

        @Option(help: "Output format: nft (an nft -f script) or json (the compiled policy).")
        var format: String = NftBackend.name

        func validate() throws {
            let chosen = [host != nil, gateway != nil, all].filter { $0 }.count
            guard chosen == 1 else { throw ValidationError("give exactly one of --host NAME, --gateway NAME or --all") }
            if all && output == nil { throw ValidationError("--all writes one file per host: give --output DIR") }
            guard Backends.named(format) != nil else {
                throw ValidationError("unknown format '\(format)': use " + Backends.text.map { $0.name }.joined(separator: " or "))
            }
        }

        func run() throws {
            let workspace = try options.load()
            Output.printDiagnostics(workspace.diagnostics)
            let backend = Backends.named(format)!
            let compiler = workspace.compiler
            let targets: [Target]
            do {
                if let host { targets = [try compiler.target(kind: .host, name: host)] }
                else if let gateway { targets = [try compiler.target(kind: .gateway, name: gateway)] }
                else { targets = compiler.targets }
            } catch {
                Output.error("\(error)")
                throw ExitCode.failure
            }
            // Render everything before writing anything: bad input leaves no partial output.
            var rendered: [(Target, String)] = []
            for target in targets {
                rendered.append((target, try backend.render(workspace.policy(for: target))))
            }
            if all, let output {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                for (target, text) in rendered {
                    try Output.writeAtomically(text, to: "\(output)/\(target.name).\(backend.fileSuffix)")
                }
                print("wrote \(rendered.count) file\(rendered.count == 1 ? "" : "s") to \(output)")
            } else if let output {
                try Output.writeAtomically(rendered[0].1, to: output)
            } else {
                print(rendered[0].1, terminator: "")
            }
        }
    }
}

import ArgumentParser
import SitewallCore

extension Sitewall {
    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether a connection is allowed and why: the verdict at every point on its path.",
            discussion: """
                FROM and TO are host names or addresses; SERVICE is PROTO/PORT (tcp/502, udp/47808). For the \
                sender's output, the gateway's forward and the receiver's input, explain prints the verdict, the \
                rule that decides (or the chain's policy), the flow and vendor source behind it, and, when the \
                connection is dropped, what would allow it. Exit 0 when it is allowed, 1 when it is dropped.
                """
        )

        @OptionGroup var options: SiteOptions

        @Argument(help: "The host (name or address) that opens the connection.")
        var from: String

        @Argument(help: "The host (name or address) it connects to.")
        var to: String

        @Argument(help: ArgumentHelp("PROTO/PORT, e.g. tcp/502 or udp/47808.", valueName: "service"))
        var service: String

        @Option(help: "The sender's source port (default: an ephemeral port, 40000).")
        var sourcePort: UInt16?

        @Option(help: "text (default) or json.")
        var format: OutputFormat = .text

        func validate() throws {
            guard Self.parse(service) != nil else {
                throw ValidationError("'\(service)' is not PROTO/PORT: write e.g. tcp/502 or udp/47808")
            }
        }

        static func parse(_ text: String) -> (Transport, UInt16)? {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let transport = Transport(rawValue: String(parts[0])),
                transport == .tcp || transport == .udp, let port = UInt16(parts[1]), port > 0
            else { return nil }
            return (transport, port)
        }

        func run() throws {
            let workspace = try options.load()
            let (transport, port) = Self.parse(service)!
            let explanation: Explanation
            do {
                explanation = try Explainer.explain(
                    workspace, from: from, to: to, transport: transport, port: port, sourcePort: sourcePort)
            } catch {
                Output.error("\(error)")
                throw ExitCode.trouble
            }
            switch format {
            case .json:
                print(try JSONText.encode(explanation), terminator: "")
            case .text:
                print(Self.text(explanation), terminator: "")
            }
            if explanation.verdict == .drop { throw ExitCode.refused }
        }

        static func text(_ e: Explanation) -> String {
            let name = { (end: Explanation.Endpoint) in
                (end.host.map { "\($0) (\(end.address))" } ?? "\(end.address)") + (end.zone.map { " in \($0)" } ?? "")
            }
            var out = "\(name(e.from)) -> \(name(e.to)) \(e.transport.rawValue)/\(e.port) "
            out += "from port \(e.sourcePort): \(e.verdict == .accept ? "ALLOWED" : "DROPPED")\n"
            for step in e.steps {
                let decided = step.rule.map { "rule \($0): \(step.ruleText ?? "")" } ?? "the chain's policy"
                out += "  \(step.target) \(step.chain): \(step.verdict.rawValue) by \(decided)\n"
                if let service = step.service {
                    let roles =
                        "\((step.initiatorRoles ?? []).joined(separator: ",")) -> "
                        + (step.listenerRoles ?? []).joined(separator: ",")
                    out += "    flow: \(service): \(roles)\(step.site.map { ", from \($0)" } ?? "")\n"
                }
                for citation in step.citations ?? [] {
                    out += "    source: \(citation.source ?? citation.document): \(citation.reference)\n"
                }
            }
            for note in e.notes { out += "  note: \(note)\n" }
            for hint in e.hints { out += "  to allow it: \(hint)\n" }
            return out
        }
    }
}

import ArgumentParser
import SitewallCore

extension Sitewall {
    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "explain",
            abstract: "Say whether a connection is allowed and why: the verdict at every point on its path.",
            discussion: """
                FROM and TO are host names or addresses; SERVICE is PROTO/PORT (tcp/502, udp/47808). For the \
                sender's output, the gateway's forward and the receiver's input, explain prints the verdict, the \
                rule that decides (or the chain's policy), the flow and vendor source behind it, and, when the \
                connection is dropped, what would allow it. Exit 0 when it is allowed, 1 when it is dropped.

                Reverse questions: --to HOST[:PORT] lists who can reach the host (on that port), --from HOST[:PORT] \
                what it can reach; each allowed flow with its roles, site line and vendor source, and each peer \
                with the verdict the compiled rules give its first packet. Exit 0 (1 if a flow the site allows is \
                dropped on its path, which would be a sitewall bug).
                """
        )

        @OptionGroup var options: SiteOptions

        @Argument(help: "The host (name or address) that opens the connection.")
        var from: String?

        @Argument(help: "The host (name or address) it connects to.")
        var to: String?

        @Argument(help: ArgumentHelp("PROTO/PORT, e.g. tcp/502 or udp/47808, or icmp (a ping).", valueName: "service"))
        var service: String?

        @Option(
            name: .customLong("to"),
            help: ArgumentHelp("Who can reach this host (on this port)?", valueName: "host[:port]"))
        var reaching: String?

        @Option(
            name: .customLong("from"),
            help: ArgumentHelp("What can this host reach (on this port)?", valueName: "host[:port]"))
        var reachableFrom: String?

        @Option(help: "The sender's source port (default: an ephemeral port, 40000).")
        var sourcePort: UInt16?

        @Option(help: "text (default) or json.")
        var format: OutputFormat = .text

        func validate() throws {
            if let question = reaching ?? reachableFrom {
                guard reaching == nil || reachableFrom == nil, from == nil else {
                    throw ValidationError(
                        "ask one question: FROM TO PROTO/PORT, or --to HOST[:PORT], or --from HOST[:PORT]")
                }
                guard Self.hostAndPort(question) != nil else {
                    throw ValidationError("'\(question)' is not HOST or HOST:PORT (a port from 1 to 65535)")
                }
                return
            }
            guard from != nil, to != nil, let service else {
                throw ValidationError(
                    "give FROM TO PROTO/PORT (e.g. hmi-1 plc-1 tcp/502), or --to HOST[:PORT], or --from HOST[:PORT]")
            }
            guard Self.parse(service) != nil else {
                throw ValidationError("'\(service)' is not PROTO/PORT: write e.g. tcp/502, udp/47808 or icmp")
            }
        }

        /// "pac-1", "pac-1:502", "10.0.0.5:502", "[fd00::5]:502" or "fd00::5".
        static func hostAndPort(_ text: String) -> (host: String, port: UInt16?)? {
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                let host = String(text[text.index(after: text.startIndex)..<close])
                let rest = text[text.index(after: close)...]
                if rest.isEmpty { return (host, nil) }
                guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()), port > 0 else { return nil }
                return (host, port)
            }
            if IPAddress(text) != nil || !text.contains(":") { return text.isEmpty ? nil : (text, nil) }
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0
            else { return nil }
            let host = String(text[..<colon])
            return host.isEmpty ? nil : (host, port)
        }

        /// tcp/502, udp/47808, or icmp (an echo request).
        static func parse(_ text: String) -> (Transport, UInt16)? {
            if text == "icmp" || text == "icmp/echo" { return (.icmp, 0) }
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let transport = Transport(rawValue: String(parts[0])),
                transport == .tcp || transport == .udp, let port = UInt16(parts[1]), port > 0
            else { return nil }
            return (transport, port)
        }

        func run() throws {
            let workspace = try options.load()
            if let question = reaching ?? reachableFrom {
                try answer(workspace, question, direction: reaching != nil ? .to : .from)
                return
            }
            guard let from, let to, let service, let (transport, port) = Self.parse(service) else { return }
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

        func answer(_ workspace: Workspace, _ question: String, direction: Reachability.Direction) throws {
            let (host, port) = Self.hostAndPort(question)!
            let reachability: Reachability
            do {
                reachability = try Explainer.reachability(workspace, host: host, direction: direction, port: port)
            } catch {
                Output.error("\(error)")
                throw ExitCode.trouble
            }
            switch format {
            case .json: print(try JSONText.encode(reachability), terminator: "")
            case .text: print(Self.text(reachability), terminator: "")
            }
            if reachability.flows.contains(where: { $0.peers.contains { $0.verdict == .drop } }) {
                throw ExitCode.refused
            }
        }

        static func text(_ r: Reachability) -> String {
            let on = r.port.map { " on port \($0)" } ?? ""
            var out =
                r.direction == .to
                ? "who can reach \(r.host)\(on): " : "what \(r.host) can reach\(on): "
            out += r.flows.isEmpty ? "nothing\n" : "\(r.allowedCount) allowed\n"
            for flow in r.flows {
                out += "  \(flow.service) \(flow.transport.rawValue)\(flow.transport == .icmp ? " " : "/")\(flow.ports)"
                out += flow.sourcePorts.map { " from port \($0)" } ?? ""
                out += ": \(flow.initiatorRoles.joined(separator: ",")) -> \(flow.listenerRoles.joined(separator: ","))"
                out += flow.fromZone == flow.toZone ? " in \(flow.fromZone)" : " (\(flow.fromZone) -> \(flow.toZone))"
                out += "\n"
                if let operations = flow.operations { out += "    operations: \(operations)\n" }
                if let site = flow.site { out += "    from \(site)\n" }
                for citation in flow.citations {
                    out += "    source: \(citation.source ?? citation.document): \(citation.reference)\n"
                }
                for peer in flow.peers {
                    let verdict =
                        switch peer.verdict {
                        case .accept?: "allowed"
                        case .drop?: "DROPPED at \(peer.droppedAt ?? "?") (the flow opens it: a sitewall bug)"
                        case nil: "allowed by the flow (not evaluated)"
                        }
                    let other = "\(peer.host) (\(peer.address)) in \(peer.zone)"
                    let pair = r.direction == .to ? "\(other) -> \(peer.via)" : "\(peer.via) -> \(other)"
                    out += "    \(pair): \(verdict)\n"
                }
            }
            return out
        }

        static func text(_ e: Explanation) -> String {
            let name = { (end: Explanation.Endpoint) in
                (end.host.map { "\($0) (\(end.address))" } ?? "\(end.address)") + (end.zone.map { " in \($0)" } ?? "")
            }
            var out = "\(name(e.from)) -> \(name(e.to)) "
            out += e.transport == .icmp ? "icmp echo" : "\(e.transport.rawValue)/\(e.port) from port \(e.sourcePort)"
            out += ": \(e.verdict == .accept ? "ALLOWED" : "DROPPED")\n"
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

import Foundation
import SitewallCore

/// One exchange of real protocol software between two hosts of a site: a client command in the
/// initiator's namespace, judged by the evidence it (or a server's log) prints.
public struct InteropExchange: Sendable {
    public var name: String
    public var software: String
    /// What the site allows: the exchange must work through the compiled rules, or must fail.
    public var allowed: Bool
    public var from: String
    public var to: String
    /// Run in `from`'s namespace under `timeout`; placeholders as in `InteropSite.expand`.
    public var client: String
    /// Lines the client prints (or, prefixed "log:", a daemon logs) when the exchange happened; all
    /// must appear.
    public var evidence: [String]
    /// Seconds to wait before starting, where two clients of one daemon must not overlap.
    public var delay: Double

    public init(
        _ name: String, software: String, allowed: Bool, from: String, to: String, client: String,
        evidence: [String], delay: Double = 0
    ) {
        self.delay = delay
        self.name = name
        self.software = software
        self.allowed = allowed
        self.from = from
        self.to = to
        self.client = client
        self.evidence = evidence
    }
}

/// Daemons of a site, started once in their hosts' namespaces before the exchanges run.
public struct InteropServer: Sendable {
    public var host: String
    public var command: String
    /// "tcp:502", "udp:162": the exchanges start only once it listens there (up to 20 s).
    public var listens: String?

    public init(_ host: String, _ command: String, listens: String? = nil) {
        self.host = host
        self.command = command
        self.listens = listens
    }
}

/// A site (an example, or a test site) with its daemons and exchanges.
public struct InteropSite: Sendable {
    public var name: String
    public var yaml: String?
    public var example: String?
    /// Run once in the machine's namespace before the daemons start (files only, no network).
    public var prepare: String = ""
    public var servers: [InteropServer]
    /// Seconds the daemons get to start listening.
    public var ready: Double
    public var exchanges: [InteropExchange]
    /// Its rules look into segments (a Modbus operation filter): iptables refuses it, so an iptables
    /// run leaves it out (the refusal is tested on its own).
    public var nftablesOnly = false

    public init(
        _ name: String, example: String? = nil, yaml: String? = nil, prepare: String = "", servers: [InteropServer],
        ready: Double, exchanges: [InteropExchange]
    ) {
        self.name = name
        self.example = example
        self.yaml = yaml
        self.prepare = prepare
        self.servers = servers
        self.ready = ready
        self.exchanges = exchanges
    }

    public func workspace() throws -> Workspace {
        if let example { return try Workspace.load(site: Repository.example(example), profiles: Repository.profiles) }
        return try SiteFixture.workspace(yaml ?? "", file: "\(name).yaml")
    }
}

/// How the lab's namespaces are loaded for a run.
public enum InteropMode: Sendable, CustomStringConvertible {
    case rules(BackendKind)
    /// Self-test: no rules at all, so every exchange must work (the daemons and clients do).
    case acceptAll
    /// Self-test: every chain drops, so every exchange must fail (the suite can fail).
    case dropAll

    public var description: String {
        switch self {
        case .rules(let kind): kind.rawValue
        case .acceptAll: "accept-all"
        case .dropAll: "drop-all"
        }
    }

    func expects(_ exchange: InteropExchange) -> Bool {
        switch self {
        case .rules: exchange.allowed
        case .acceptAll: true
        case .dropAll: false
        }
    }

    static let dropAllRuleset = """
        table inet interop_drop_all {
        \tchain input { type filter hook input priority -10; policy drop; }
        \tchain forward { type filter hook forward priority -10; policy drop; }
        \tchain output { type filter hook output priority -10; policy drop; }
        }

        """
}

public struct InteropResult: Sendable {
    public var site: String
    public var exchange: InteropExchange
    public var expected: Bool
    public var observed: Bool
    /// The line that shows what happened (the evidence, or the client's last words).
    public var evidence: String
    /// The client's output and the logs of the daemons on the listening host, for a failure's report.
    public var details: String = ""

    public var matches: Bool { expected == observed }

    public var line: String {
        let verdict = { (ok: Bool) in ok ? "works" : "fails" }
        return [
            matches ? "pass" : "FAIL", site, exchange.name, exchange.software, "\(exchange.from) -> \(exchange.to)",
            "expected \(verdict(expected))", "observed \(verdict(observed))", evidence,
        ].joined(separator: " | ")
    }
}

/// Stands a site up in the verify lab, starts its daemons, runs every client at once and judges
/// each exchange by its evidence. Daemons run only in the lab's namespaces and are killed (and the
/// lab removed) whatever happens.
public enum InteropRunner {
    public static var python: String { Repository.root + "/.venv-interop/bin/python" }
    public static var scripts: String { Repository.root + "/interop" }

    /// Programs the suite runs; missing ones make the suite skip (outside CI) or fail (under CI=true).
    public static let programs = [
        "dnsmasq", "udhcpc", "chronyd", "swaks", "snmpd", "snmpget", "snmptrap", "snmpinform", "snmptrapd",
        "mosquitto", "mosquitto_pub", "curl", "openssl", "psql", "tftp", "in.tftpd", "conntrack",
    ]

    public static var missing: [String] {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin"
        var absent = programs.filter { name in
            !path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
        }
        if !FileManager.default.isExecutableFile(atPath: python) { absent.append(".venv-interop (make test-deps)") }
        if !FileManager.default.fileExists(atPath: postgresBin + "/postgres") { absent.append("postgresql") }
        return absent
    }

    static var postgresBin: String {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        return "/usr/lib/postgresql/\(versions.sorted().last ?? "15")/bin"
    }

    /// Replaces {addr:HOST}, {addr:HOST@ZONE}, {if:HOST@ZONE}, {py}, {dir}, {interop}, {pgbin}.
    static func expand(_ text: String, site: ResolvedSite, lab: Lab, dir: String) -> String {
        var out = text.replacingOccurrences(of: "{py}", with: python)
            .replacingOccurrences(of: "{dir}", with: dir)
            .replacingOccurrences(of: "{interop}", with: scripts)
            .replacingOccurrences(of: "{pgbin}", with: postgresBin)
        while let open = out.range(of: "{addr:") ?? out.range(of: "{if:"),
            let close = out[open.upperBound...].firstIndex(of: "}")
        {
            let key = out[open.upperBound..<close].split(separator: "@").map(String.init)
            let host = key[0]
            let zone = key.count > 1 ? key[1] : nil
            let value: String
            if out[open].hasPrefix("{addr:") {
                let addresses = site.host(named: host)?.addresses ?? []
                value =
                    addresses.first { $0.address.family == .ipv4 && (zone == nil || $0.zone == zone) }?.address
                    .description ?? "0.0.0.0"
            } else {
                let interfaces = lab.plan.node(for: host)?.interfaces ?? []
                value = interfaces.first { zone == nil || $0.zone == zone }?.name ?? "eth0"
            }
            out.replaceSubrange(open.lowerBound...close, with: value)
        }
        return out
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Ctrl-C or a kill while it runs removes the lab, its daemons and clients and the scratch folder.
    public static func run(_ site: InteropSite, mode: InteropMode) throws -> [InteropResult] {
        if site.nftablesOnly, case .rules(.iptables) = mode { return [] }
        let workspace = try site.workspace()
        let scratch = try ScratchDirectory("sitewall-interop")
        let dir = scratch.path
        // The script leads a process group of its own: it and its clients go at once.
        let stopScript: @Sendable () -> Void = {
            let text = (try? String(contentsOfFile: "\(dir)/script.pid", encoding: .utf8)) ?? ""
            if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 { kill(-pid, SIGKILL) }
        }
        let removeScratch: @Sendable () -> Void = { try? FileManager.default.removeItem(atPath: dir) }
        return try Lab.removingLabsOnSignals(
            message: "interrupted: the lab, its daemons and clients were removed", stopping: stopScript,
            then: removeScratch
        ) { try run(site, mode: mode, workspace: workspace, dir: dir) }
    }

    static func run(
        _ site: InteropSite, mode: InteropMode, workspace: Workspace, dir: String
    ) throws -> [InteropResult] {
        let lab = Lab(site: workspace.resolved)
        defer { lab.tearDown() }
        try lab.build()
        for target in workspace.compiler.targets {
            switch mode {
            case .rules(.netlink): try Verifier.Options.netlinkLoader(lab, target, workspace.policy(for: target))
            case .rules(.iptables): try Verifier.Options.iptablesLoader(lab, target, workspace.policy(for: target))
            case .rules: try lab.load(nft: NftBackend.render(workspace.policy(for: target)), into: target.name)
            case .acceptAll: break
            case .dropAll: try lab.load(nft: InteropMode.dropAllRuleset, into: target.name)
            }
        }
        // Daemons drop privileges (mosquitto, postgres): let them read and write here.
        chmod(dir, 0o777)
        let namespace = { (host: String) in lab.plan.node(for: host)?.namespace ?? "missing-\(host)" }
        var script = "set -u\necho $$ > \(dir)/script.pid\ncd \(dir)\n"
        script += "stop() { for f in \(dir)/server-*.pid; do [ -f \"$f\" ] && kill -TERM -- -\"$(cat \"$f\")\" "
        script += "2>/dev/null; done; sleep 0.3; for f in \(dir)/server-*.pid; do [ -f \"$f\" ] && "
        script += "kill -KILL -- -\"$(cat \"$f\")\" 2>/dev/null; done; }\ntrap stop EXIT INT TERM\n"
        script += expand(site.prepare, site: workspace.resolved, lab: lab, dir: dir) + "\n"
        for (i, server) in site.servers.enumerated() {
            let command = expand(server.command, site: workspace.resolved, lab: lab, dir: dir)
            script += "ip netns exec \(namespace(server.host)) setsid sh -c \(quoted(command)) "
            script += "> \(dir)/server-\(i).log 2>&1 < /dev/null & echo $! > \(dir)/server-\(i).pid\n"
        }
        for server in site.servers {
            guard let listens = server.listens, let colon = listens.firstIndex(of: ":") else { continue }
            let flag = listens[..<colon] == "udp" ? "u" : "t"
            script += "for i in $(seq 80); do ip netns exec \(namespace(server.host)) ss -Hln\(flag) "
            script += "'sport = :\(listens[listens.index(after: colon)...])' | grep -q . && break; sleep 0.25; done\n"
        }
        script += "sleep \(site.ready)\n"
        // No connection left over from the daemons' start-up may answer for an exchange.
        for node in lab.plan.nodes { script += "ip netns exec \(node.namespace) conntrack -F 2>/dev/null\n" }
        var clients: [String] = []
        for (i, exchange) in site.exchanges.enumerated() {
            let command = expand(exchange.client, site: workspace.resolved, lab: lab, dir: dir)
            let wait = exchange.delay > 0 ? "sleep \(exchange.delay); " : ""
            script += "(\(wait)exec ip netns exec \(namespace(exchange.from)) timeout 25 sh -c \(quoted(command))) "
            script += "> \(dir)/client-\(i).log 2>&1 < /dev/null & c\(i)=$!\n"
            clients.append("$c\(i)")
        }
        script += "wait \(clients.joined(separator: " "))\nsleep 0.5\n"
        // What conntrack made of the exchanges, for a failure's report (entries outlive short connections).
        for node in lab.plan.nodes {
            script += "ip netns exec \(node.namespace) conntrack -L > \(dir)/conntrack-\(node.namespace).log 2>&1\n"
        }
        _ = try Subprocess.run("/usr/bin/setsid", ["-w", "/bin/sh", "-c", script])
        // (A daemon that ignored its signal is killed when the lab is torn down.)
        let read = { (name: String) in (try? String(contentsOfFile: "\(dir)/\(name)", encoding: .utf8)) ?? "" }
        // Daemons that log to a file of their own write it as daemon-*.log.
        let own = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("daemon-") }
        let serverLogs = (site.servers.indices.map { "server-\($0).log" } + own).map(read).joined(separator: "\n")
        // The connection-tracking tables of the two ends and of every gateway.
        let conntrack = { (exchange: InteropExchange) -> String in
            let nodes = lab.plan.nodes.filter {
                $0.isGateway || $0.namespace == namespace(exchange.from) || $0.namespace == namespace(exchange.to)
            }
            return nodes.map {
                "\nconntrack in \($0.namespace):\n" + read("conntrack-\($0.namespace).log").suffix(2000)
            }
            .joined()
        }
        return site.exchanges.enumerated().map { i, exchange in
            let output = read("client-\(i).log")
            let hits = exchange.evidence.map { expand($0, site: workspace.resolved, lab: lab, dir: dir) }.map {
                wanted -> Substring? in
                let (text, lines) =
                    wanted.hasPrefix("log:")
                    ? (String(wanted.dropFirst(4)), serverLogs.split(separator: "\n"))
                    : (wanted, output.split(separator: "\n"))
                return lines.first { $0.contains(text) }
            }
            let observed = hits.allSatisfy { $0 != nil }
            let last = output.split(separator: "\n").last.map(String.init) ?? "(no output)"
            let shown = observed ? hits.compactMap { $0 }.joined(separator: "; ") : last
            let daemons =
                (site.servers.indices.filter { site.servers[$0].host == exchange.to }
                .map { "server-\($0).log" } + own).map { read($0).suffix(1500) }.joined(separator: "\n")
            return InteropResult(
                site: site.name, exchange: exchange, expected: mode.expects(exchange), observed: observed,
                evidence: String(shown.trimmingCharacters(in: .whitespaces).prefix(120)),
                details: "client:\n\(output.suffix(1500))\ndaemons on \(exchange.to):\n\(daemons)"
                    + conntrack(exchange))
        }
    }
}

import Foundation

/// `sitewall verify`: stand up the lab, load every host's and gateway's rules, send the probes,
/// and compare what happened with what the site allows.
public enum Verifier {
    public struct Options {
        /// Seconds a probe waits before it counts as dropped.
        public var timeout: Double = 1.5
        public var pairsPerGroup = 4
        /// Loads one target's policy into its namespace; nft -f by default.
        public var load: (Lab, Target, Policy) throws -> Void = { lab, target, policy in
            try lab.load(nft: NftBackend.render(policy), into: target.name)
        }
        /// Loads through iptables-restore / ip6tables-restore instead.
        public static func iptablesLoader(_ lab: Lab, _ target: Target, _ policy: Policy) throws {
            try lab.load(
                iptables: IptablesBackend.render(policy, family: .ipv4),
                ipv6: IptablesBackend.render(policy, family: .ipv6),
                into: target.name)
        }

        /// Applies through the netlink backend, with a socket opened inside the host's namespace.
        public static func netlinkLoader(_ lab: Lab, _ target: Target, _ policy: Policy) throws {
            guard let path = lab.namespacePath(of: target.name) else { return }
            _ = try NetlinkApplier(socket: NetlinkSocket(namespace: path)).apply(policy)
        }

        /// For tests: change a policy before it is loaded (drop a rule, open a port).
        public var tamper: ((Target, inout Policy) -> Void)?

        /// Runs after the probes, while the lab still stands (read counters the probes left).
        public var afterProbes: ((Lab) throws -> Void)?

        public init() {}
    }

    public static func run(_ workspace: Workspace, options: Options = Options()) throws -> VerifyReport {
        let lab = Lab(site: workspace.resolved)
        defer { lab.tearDown() }
        try lab.build()
        let compiler = workspace.compiler
        for target in compiler.targets {
            var policy = compiler.compile(target)
            options.tamper?(target, &policy)
            try options.load(lab, target, policy)
        }
        var planner = ProbePlanner(site: workspace.resolved, flows: workspace.flows, stations: lab.plan.probeAddresses)
        planner.pairsPerGroup = options.pairsPerGroup
        let probes = planner.plan()
        let results = try ProbeEngine(lab: lab, timeout: options.timeout).run(probes)
        try options.afterProbes?(lab)
        return VerifyReport(
            site: workspace.resolved.site.name, labPrefix: lab.plan.prefix, results: results,
            unprobed: planner.unprobed(given: probes))
    }
}

public struct VerifyReport: Sendable, Codable {
    public var site: String
    /// The prefix of the lab's namespace names (all gone when the report exists).
    public var labPrefix: String
    public var results: [ProbeResult]
    /// Allowed flows no probe could prove: verify fails on them unless the caller accepts them.
    public var unprobed: [UnprobedFlow] = []

    public var passed: Int { results.filter(\.matches).count }
    public var failed: Int { results.count - passed }
    public var failures: [ProbeResult] { results.filter { !$0.matches } }

    /// One table per enforcement point, then the summary line.
    public func text(onlyFailures: Bool = false) -> String {
        var out = ""
        let points = Dictionary(grouping: results, by: \.probe.enforcement)
        for point in points.keys.sorted() {
            let rows = points[point]!.filter { !onlyFailures || !$0.matches }.sorted { $0.probe.id < $1.probe.id }
            guard !rows.isEmpty else { continue }
            out += "\(point)\n"
            for row in rows {
                let status = row.matches ? "pass" : "FAIL"
                let expected = row.probe.expected == .accept ? "open" : "closed"
                out +=
                    "  \(status)  expected \(expected.padding(toLength: 6, withPad: " ", startingAt: 0)) "
                    + "observed \(row.observed.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))  "
                    + "\(row.probe.label)  [\(row.probe.reason)]\n"
            }
        }
        if !unprobed.isEmpty {
            out += "not probed\n"
            for flow in unprobed { out += "  SKIP  \(flow.flow): \(flow.reason)\n" }
        }
        out += "\(passed) passed, \(failed) failed"
        out +=
            unprobed.isEmpty ? "\n" : ", \(unprobed.count) allowed flow\(unprobed.count == 1 ? "" : "s") not probed\n"
        return out
    }

    /// The report as JSON; the counts stay whole when only the failures are listed.
    public func json(onlyFailures: Bool = false) throws -> String {
        struct Document: Codable {
            var site: String
            var passed: Int
            var failed: Int
            var results: [ProbeResult]
            var unprobed: [UnprobedFlow]
        }
        return try JSONText.encode(
            Document(
                site: site, passed: passed, failed: failed, results: onlyFailures ? failures : results,
                unprobed: unprobed))
    }
}

extension ProbeResult {
    enum CodingKeys: String, CodingKey { case probe, observed, matches }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(probe, forKey: .probe)
        try container.encode(observed, forKey: .observed)
        try container.encode(matches, forKey: .matches)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        probe = try container.decode(Probe.self, forKey: .probe)
        observed = try container.decode(Observation.self, forKey: .observed)
    }
}

/// What `sitewall check` found, in the form `check --format json` prints: every finding with its
/// place in the input and its fix, and the site's size when it loaded.
public struct CheckReport: Sendable, Codable {
    public struct Counts: Sendable, Codable {
        public var hosts: Int
        public var zones: Int
        public var conduits: Int
        public var allowedFlowGroups: Int
    }

    public var site: String
    /// False when there are errors (or, with `strict`, warnings): check exits 1.
    public var ok: Bool
    public var strict: Bool
    public var errors: Int
    public var warnings: Int
    /// Nil when the site did not load (the findings say why).
    public var counts: Counts?
    public var findings: [Diagnostic]

    public init(site: String, findings: [Diagnostic], counts: Counts?, strict: Bool) {
        self.site = site
        self.findings = findings
        self.counts = counts
        self.strict = strict
        errors = findings.filter { $0.severity == .error }.count
        warnings = findings.filter { $0.severity == .warning }.count
        ok = errors == 0 && !(strict && warnings > 0) && counts != nil
    }

    /// A loaded site's findings and counts.
    public init(site: String, workspace: Workspace, strict: Bool) {
        let counts = Counts(
            hosts: workspace.resolved.hosts.count, zones: workspace.resolved.zones.count,
            conduits: workspace.resolved.conduits.count, allowedFlowGroups: workspace.flows.filter(\.allowed).count)
        self.init(site: site, findings: workspace.findings(), counts: counts, strict: strict)
    }

    /// "1 conduit", "2 conduits".
    public static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    /// The summary line check prints after the findings.
    public var summary: String {
        let sizes =
            counts.map {
                [
                    Self.counted($0.hosts, "host"), Self.counted($0.zones, "zone"),
                    Self.counted($0.conduits, "conduit"), Self.counted($0.allowedFlowGroups, "allowed flow group"),
                ].joined(separator: ", ") + "; "
            } ?? ""
        return "\(site): \(sizes)\(Self.counted(errors, "error")), \(Self.counted(warnings, "warning"))"
            + (strict && warnings > 0 ? " (--strict: warnings fail)" : "")
    }
}

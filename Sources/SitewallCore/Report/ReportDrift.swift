extension SiteReport {
    /// How a target's running rules differ from its compiled ones: read from this machine's kernel over
    /// netlink, or from a saved `nft -j list ruleset`. A target the site lacks throws; rules that cannot be
    /// read give a drift with `error` set, which the report shows as unknown, never as "no differences".
    public static func drift(_ workspace: Workspace, target name: String, savedRuleset file: String?) throws -> Drift {
        let kind: Target.Kind = workspace.resolved.host(named: name)?.isGateway == true ? .gateway : .host
        let target = try workspace.compiler.target(kind: kind, name: name)
        let expected = workspace.policy(for: target)
        var drift = Drift(target: "\(target)", running: file ?? "kernel", differences: 0, text: "", error: nil)
        do {
            let state = try RunningState.read(target: target, site: expected.site, savedRuleset: file)
            let report = DiffReport(
                diff: PolicyDiff.compare(expected: expected, running: state), site: workspace.resolved,
                target: target, mode: .live, otherChains: state.otherChains)
            drift.differences = report.entries.count
            drift.text = report.text
        } catch {
            drift.error = "\(error)"
        }
        return drift
    }
}

/// A site loaded with its profiles: the starting point of every command.
public struct Workspace: Sendable {
    public let catalog: ProfileCatalog
    public let resolved: ResolvedSite
    public let flows: [FlowGroup]
    /// Built once: it indexes the flows by host.
    public let compiler: PolicyCompiler
    /// Warnings (and, if `load` did not throw, no errors) found while loading.
    public let diagnostics: [Diagnostic]

    /// Loads and checks everything; throws `DiagnosticsError` listing every error (and warning) found.
    public static func load(site path: String, profiles directory: String) throws -> Workspace {
        try load(site: path, profilePath: [ProfileFolder(directory)])
    }

    public static func load(site path: String, profilePath: [ProfileFolder]) throws -> Workspace {
        var log = DiagnosticLog()
        let catalog = ProfileLoader.load(path: profilePath, log: &log)
        try log.throwIfErrors()
        guard let site = SiteLoader.load(path: path, log: &log) else { throw DiagnosticsError(log.diagnostics) }
        return try load(site: site, catalog: catalog, log: log)
    }

    public static func load(siteText text: String, file: String, catalog: ProfileCatalog) throws -> Workspace {
        var log = DiagnosticLog()
        guard let site = SiteLoader.parse(text, file: file, log: &log) else { throw DiagnosticsError(log.diagnostics) }
        return try load(site: site, catalog: catalog, log: log)
    }

    static func load(site: Site, catalog: ProfileCatalog, log: DiagnosticLog) throws -> Workspace {
        var log = log
        let resolved = SiteResolver.resolve(site, catalog: catalog, log: &log)
        try log.throwIfErrors()
        let flows = FlowDeriver.derive(resolved)
        SiteChecks.managementPaths(resolved, flows: flows, log: &log)
        SiteChecks.peerPorts(resolved, flows: flows, log: &log)
        try log.throwIfErrors()
        return Workspace(
            catalog: catalog, resolved: resolved, flows: flows, compiler: PolicyCompiler(site: resolved, flows: flows),
            diagnostics: log.diagnostics)
    }

    public func policy(for target: Target) -> Policy { compiler.compile(target) }

    /// Everything `sitewall check` reports beyond load errors: flows without conduits, conduits that carry
    /// nothing, uses nobody offers, shadowed rules.
    public func findings() -> [Diagnostic] {
        var log = DiagnosticLog()
        log.append(contentsOf: diagnostics)
        SiteChecks.conduitGaps(resolved, flows: flows, log: &log)
        SiteChecks.completeness(resolved, flows: flows, log: &log)
        // Targets of one class share a table: analyse it once.
        var byClass: [[PolicyCompiler.Membership]: [SiteChecks.Shadowing]] = [:]
        for target in compiler.targets {
            let policy = compiler.compile(target)
            let key = compiler.classKey(of: target)
            let findings = key.flatMap { byClass[$0] } ?? SiteChecks.shadowedRules(in: policy.table)
            if let key { byClass[key] = findings }
            SiteChecks.report(findings, policy: policy, site: resolved, log: &log)
        }
        return log.diagnostics
    }
}

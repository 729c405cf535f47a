import ArgumentParser
import SitewallCore

@main
struct Sitewall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sitewall",
        abstract: "Compile vendor port profiles and a site description into least-privilege firewall rules.",
        version: "0.1.0",
        subcommands: [
            Compile.self, Check.self, Apply.self, Diff.self, Confirm.self, Rollback.self, Verify.self, Profiles.self,
            GenerateSite.self, WatchdogCommand.self,
        ]
    )
}

/// Options every command that reads a site shares.
struct SiteOptions: ParsableArguments {
    @Argument(help: "The site description (YAML).")
    var site: String

    @Option(help: "The profiles folder (default: $SITEWALL_PROFILES, or the Profiles/ folder sitewall ships with).")
    var profiles: String?

    var profilesDirectory: String { ProfileLocator.locate(explicit: profiles) }

    /// Loads the site, printing every diagnostic to stderr and exiting 1 on errors.
    func load() throws -> Workspace {
        do {
            return try Workspace.load(site: site, profiles: profilesDirectory)
        } catch let error as DiagnosticsError {
            Output.printDiagnostics(error.diagnostics)
            let count = error.errors.count
            Output.error("\(count) error\(count == 1 ? "" : "s"); nothing was written")
            throw ExitCode.failure
        }
    }
}

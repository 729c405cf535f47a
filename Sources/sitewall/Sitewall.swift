import ArgumentParser
import SitewallCore

@main
struct Sitewall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sitewall",
        abstract: "Compile vendor port profiles and a site description into least-privilege firewall rules.",
        discussion: """
            EXIT STATUS
              0    success; diff: no differences
              1    bad input, a refusal (nothing was changed), differences (diff), failed probes (verify)
              2    trouble: an unreadable file, a kernel or system error
              64   usage: an unknown option or subcommand, a missing or invalid argument
              128+N  interrupted by signal N (verify removes its lab first)
            """,
        // The profile set's version is read from its file: only when it is asked for, not on every run.
        version: CommandLine.arguments.contains("--version") ? versionText : sitewallVersion,
        subcommands: [
            Compile.self, Check.self, Apply.self, Diff.self, Confirm.self, Rollback.self, Verify.self, Profiles.self,
            GenerateSite.self, WatchdogCommand.self, Explain.self, Report.self, Stats.self, Inventory.self,
        ]
    )

    static func main() {
        ProcessMemory.keepFreedMemory()
        main(nil)
    }
}

let sitewallVersion = "0.2.0"

/// sitewall's version and the shipped profile set's, for --version.
let versionText: String = {
    let profiles = ProfileLocator.shipped.map { folder in
        "profiles \(ProfileLoader.setVersion(in: folder) ?? "(no version)") in \(folder)"
    }
    return "sitewall \(sitewallVersion) (\(profiles ?? "no shipped profiles found"))"
}()

enum ProfileOptions {
    static let help: String =
        "A folder of profiles to use before the others (repeatable); then $SITEWALL_PROFILES (folders separated "
        + "by ':'), \(ProfileLocator.machineFolder) and the profiles sitewall ships with. A profile replaces a "
        + "later one of the same name."
}

/// Options every command that reads a site shares.
struct SiteOptions: ParsableArguments {
    @Argument(help: "The site description (YAML).")
    var site: String

    @Option(help: ArgumentHelp(ProfileOptions.help, valueName: "folder"))
    var profiles: [String] = []

    func profilePath() -> [ProfileFolder] { ProfileLocator.path(explicit: profiles) }

    /// Loads the site, printing every diagnostic to stderr and exiting 1 on errors. The model lives until
    /// the process exits: a command loads one and exits after its output.
    func load() throws -> Workspace {
        do {
            return ProcessMemory.keepUntilExit(try Workspace.load(site: site, profilePath: profilePath()))
        } catch let error as DiagnosticsError {
            Output.printDiagnostics(error.diagnostics)
            let count = error.errors.count
            Output.error("\(count) error\(count == 1 ? "" : "s"); nothing was written")
            throw ExitCode.failure
        }
    }
}

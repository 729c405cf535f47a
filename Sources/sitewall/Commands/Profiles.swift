import ArgumentParser
import SitewallCore

extension Sitewall {
    struct Profiles: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "profiles",
            abstract: "List vendor profiles and their roles, or show one profile's services with citations.",
            subcommands: [List.self, Show.self],
            defaultSubcommand: List.self
        )

        struct Location: ParsableArguments {
            @Option(help: ArgumentHelp(ProfileOptions.help, valueName: "folder"))
            var profiles: [String] = []

            func load() throws -> ProfileCatalog {
                do {
                    return try ProfileLoader.load(path: ProfileLocator.path(explicit: profiles))
                } catch let error as DiagnosticsError {
                    Output.printDiagnostics(error.diagnostics)
                    throw ExitCode.failure
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List profiles and roles.")
            @OptionGroup var location: Location

            func run() throws {
                let catalog = try location.load()
                for profile in catalog.profiles {
                    print("\(profile.name)  \(profile.vendor) \(profile.product)".trimmingCharacters(in: .whitespaces))
                    for role in profile.roles { print("  \(role.id)  \(role.summary)") }
                }
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "show",
                abstract: "Show a profile's services, roles and constraints with citations.")
            @OptionGroup var location: Location
            @Argument(help: "The profile name, or one of its roles (profile/role).") var name: String

            func run() throws {
                let catalog = try location.load()
                let owner = catalog.profiles.first { $0.roles.contains { $0.id == name } }
                guard let profile = catalog.profile(named: name) ?? owner else {
                    // A role's own name (without its profile) names the profile to show.
                    let roles = catalog.profiles.flatMap { profile in profile.roles.map { (profile, $0.id) } }
                    let byRole = roles.filter { $0.1.hasSuffix("/" + name) }
                    if !byRole.isEmpty {
                        let found = byRole.map { "\($0.1) (sitewall profiles show \($0.0.name))" }
                        Output.error("no profile '\(name)'; it is a role: \(found.joined(separator: ", "))")
                    } else {
                        Output.error(
                            "no profile '\(name)': "
                                + DidYouMean.hint(
                                    for: name, among: catalog.profiles.map(\.name), kind: "profile", limit: .max))
                    }
                    throw ExitCode.failure
                }
                if owner != nil && catalog.profile(named: name) == nil {
                    print("role \(name) is in profile \(profile.name)")
                }
                print(ProfileReport.render(profile, documents: catalog.documents))
            }
        }
    }
}

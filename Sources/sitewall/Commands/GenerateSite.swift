import ArgumentParser
import SitewallCore

extension Sitewall {
    /// A synthetic site of N hosts, for benchmarks and demos.
    struct GenerateSite: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate-site",
            abstract: "Print a synthetic site of N hosts over five zones and all four vendor products (for benchmarks)."
        )

        @Option(help: "How many hosts.")
        var hosts: Int = 1000

        @Flag(help: "Narrow it as a real site does: Plant SCADA clusters, Modbus peers by area, a read-only plugin.")
        var narrowed = false

        func validate() throws {
            guard (10...60_000).contains(hosts) else { throw ValidationError("--hosts takes 10 to 60000") }
        }

        func run() throws {
            print(SiteGenerator.yaml(hosts: hosts, narrowed: narrowed), terminator: "")
        }
    }
}

import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 17: the JSON Schemas in docs/schema (what editors validate YAML with) accept every shipped
/// profile, profile set and example, and refuse what the loaders refuse.
@Suite(
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: InteropRunner.python) || NetnsSandbox.mustRun,
        "needs .venv-interop (make test-deps)"))
struct SchemaTests {
    static var python: String { InteropRunner.python }

    static func validate(_ schema: String, _ files: [String]) throws -> ProcessResult {
        try Run.program(python, [Repository.root + "/docs/schema/validate.py", schema] + files)
    }

    static func files(under folder: String) -> [String] {
        ProfileLoader.yamlFiles(under: folder)
    }

    @Test func everyShippedFileMatchesItsSchema() throws {
        let profiles = Self.files(under: Repository.profiles)
        #expect(profiles.count > 15)
        let results = [
            try Self.validate("profile", profiles),
            try Self.validate("profile-set", [Repository.profiles + "/" + ProfileLoader.setFile]),
            try Self.validate("site", Repository.exampleNames.map(Repository.example)),
        ]
        for result in results { #expect(result.status == 0, "\(result.stdout)\(result.stderr)") }
    }

    /// A typo'd key and a wrong type: the schema and the loader both refuse them.
    @Test(arguments: [
        ("profile", "profile: p\nservices:\n  s: { transport: tcp, port: 1, prot: 2 }\n"),
        ("profile", "profile: p\nservices:\n  s: { transport: sctp, port: 1 }\n"),
        ("site", "site: s\nzones:\n  a: { networks: [10.0.0.0/24] }\nhosts:\n  h: { address: 10.0.0.1, rolez: [] }\n"),
        ("site", "site: s\nzones:\n  a: { networks: 10 }\n"),
    ])
    func whatTheLoaderRefusesTheSchemaRefuses(_ schema: String, _ text: String) throws {
        let scratch = try ScratchDirectory("sitewall-schema")
        let file = scratch.file("input.yaml")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try Self.validate(schema, [file])
        #expect(result.status != 0, "the schema accepted:\n\(text)")
        var log = DiagnosticLog()
        if schema == "profile" {
            _ = ProfileLoader.parse(text, file: file, log: &log)
        } else {
            _ = SiteLoader.parse(text, file: file, log: &log)
        }
        #expect(log.hasErrors, "the loader accepted:\n\(text)")
    }
}

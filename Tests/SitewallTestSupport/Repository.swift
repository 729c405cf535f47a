import Foundation
import SitewallCore

/// Paths into the checkout the tests were built from.
public enum Repository {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var profiles: String { root + "/Profiles" }
    public static var examples: String { root + "/Examples" }

    public static func example(_ name: String) -> String { "\(examples)/\(name).yaml" }

    public static var exampleNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: examples)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// The shipped profiles, loaded once.
    public static let catalog: ProfileCatalog = {
        do { return try ProfileLoader.load(directory: profiles) } catch {
            fatalError("shipped profiles do not load: \(error)")
        }
    }()

    /// The built `sitewall` executable, next to the test bundle.
    public static var executable: String { built("sitewall") }

    /// An executable of this package, next to the test bundle.
    public static func built(_ name: String) -> String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            let candidate = url.deletingLastPathComponent().appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            url.deleteLastPathComponent()
        }
        return root + "/.build/debug/" + name
    }
}

/// Helpers to compile a site written inline in a test.
public enum SiteFixture {
    public static func workspace(_ yaml: String, file: String = "site.yaml") throws -> Workspace {
        try Workspace.load(siteText: yaml, file: file, catalog: Repository.catalog)
    }

    /// The diagnostics a site produces (errors thrown, or warnings from a successful load and check).
    public static func diagnostics(_ yaml: String, file: String = "site.yaml") -> [Diagnostic] {
        do {
            return try workspace(yaml, file: file).findings()
        } catch let error as DiagnosticsError {
            return error.diagnostics
        } catch {
            return [.error("\(error)", at: nil)]
        }
    }

    public static func errors(_ yaml: String) -> [Diagnostic] {
        diagnostics(yaml).filter { $0.severity == .error }
    }
}

public typealias ProcessResult = Subprocess.Result

public enum Run {
    @discardableResult
    public static func program(_ path: String, _ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
        try Subprocess.run(path, arguments, stdin: stdin)
    }
}

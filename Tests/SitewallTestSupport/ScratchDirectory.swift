import Foundation

/// A fresh folder under the temporary directory, removed when the value goes away.
public final class ScratchDirectory {
    public let url: URL
    public var path: String { url.path }

    public init(_ prefix: String = "sitewall-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    public func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Names in the temporary directory that start with one of `prefixes` (for leak checks).
    public static func temporaryFolders(startingWith prefixes: [String]) -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        return Set(names.filter { name in prefixes.contains { name.hasPrefix($0) } })
    }

    /// The temporary directory's path.
    public static var temporary: String { FileManager.default.temporaryDirectory.path }
}

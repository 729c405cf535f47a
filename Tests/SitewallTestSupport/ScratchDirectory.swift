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
}

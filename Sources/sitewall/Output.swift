import ArgumentParser
import Foundation
import SitewallCore

enum Output {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("sitewall: \(message)\n".utf8))
    }

    static func printDiagnostics(_ diagnostics: [Diagnostic]) {
        for diagnostic in diagnostics {
            FileHandle.standardError.write(Data((diagnostic.description + "\n").utf8))
        }
    }

    /// Writes a file whole or not at all: a temporary file in the same folder, then rename.
    /// Creates missing parent folders; any failure is reported in one line and exits 1.
    static func writeAtomically(_ text: String, to path: String) throws {
        do {
            try write(text, to: path)
        } catch {
            let reason = (error as NSError).userInfo[NSUnderlyingErrorKey].map { ($0 as? NSError)?.localizedDescription ?? "\($0)" }
                ?? error.localizedDescription
            Output.error("cannot write \(path): \(reason)")
            throw ExitCode.failure
        }
    }

    private static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).sitewall-\(getpid())")
        do {
            try Data(text.utf8).write(to: temporary)
            if FileManager.default.fileExists(atPath: url.path) {
                _ = try FileManager.default.replaceItemAt(url, withItemAt: temporary)
            } else {
                try FileManager.default.moveItem(at: temporary, to: url)
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }
}

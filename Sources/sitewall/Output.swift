import ArgumentParser
import Foundation
import SitewallCore

enum Output {
    /// This program's own path, for the processes it starts (the rollback watchdog).
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("sitewall: \(InputText.terminalSafe(message))\n".utf8))
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
            try FileOutput.writeAtomically(text, to: path)
        } catch let error as FileOutput.Refused {
            Output.error("\(error)")
            throw ExitCode.failure
        } catch {
            let reason =
                (error as NSError).userInfo[NSUnderlyingErrorKey].map {
                    ($0 as? NSError)?.localizedDescription ?? "\($0)"
                }
                ?? error.localizedDescription
            Output.error("cannot write \(path): \(reason)")
            throw ExitCode.failure
        }
    }
}

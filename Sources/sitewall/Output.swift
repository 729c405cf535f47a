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

    static func warning(_ message: String) {
        FileHandle.standardError.write(Data("sitewall: warning: \(InputText.terminalSafe(message))\n".utf8))
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

/// "compiling 1200/50000" on stderr while long work runs, redrawn at most ten times a second; only on
/// a terminal (a pipe or a log file gets nothing), and erased when done.
struct Progress {
    let total: Int
    let what: String
    private var done = 0
    private var shownAt: UInt64 = 0
    private let visible = isatty(STDERR_FILENO) == 1

    init(total: Int, what: String) {
        self.total = total
        self.what = what
    }

    mutating func advance() {
        done += 1
        guard visible else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - shownAt >= 100_000_000 else { return }
        shownAt = now
        FileHandle.standardError.write(Data("\r\(what) \(done)/\(total)\u{1B}[K".utf8))
    }

    func finish() {
        if visible && shownAt != 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

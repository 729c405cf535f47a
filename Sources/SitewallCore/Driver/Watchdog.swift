import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The rollback of `apply --confirm`: a process in a session of its own (so that it outlives the
/// operator's terminal and the apply process), holding the previous table on disk, that puts it
/// back unless `sitewall confirm` marks the new one as good in time.
public enum Watchdog {
    static func files(_ directory: String) -> (snapshot: String, deadline: String, confirmed: String, log: String) {
        (directory + "/previous.snapshot", directory + "/deadline", directory + "/confirmed", directory + "/watchdog.log")
    }

    public static func isPending(directory: String) -> Bool {
        FileManager.default.fileExists(atPath: files(directory).deadline)
    }

    /// Saves the previous table and starts the watchdog, before the new ruleset is applied.
    static func arm(directory: String, table: String, snapshot: [UInt8], seconds: Int, executable: String) throws {
        let paths = files(directory)
        try? FileManager.default.removeItem(atPath: paths.confirmed)
        try Data(snapshot).write(to: URL(fileURLWithPath: paths.snapshot))
        let deadline = Date().addingTimeInterval(TimeInterval(seconds)).timeIntervalSince1970
        try FileOutput.writeAtomically("\(deadline) \(table)\n", to: paths.deadline)
        // setsid -f: a new session, so the watchdog survives the terminal, SIGHUP and the apply process.
        guard try Subprocess.detached("/usr/bin/setsid", ["-f", executable, "watchdog", "--directory", directory]) == 0 else {
            disarm(directory: directory)
            throw NetlinkError.system("starting the rollback watchdog", EIO)
        }
    }

    static func disarm(directory: String) {
        let paths = files(directory)
        for path in [paths.deadline, paths.snapshot, paths.confirmed] { try? FileManager.default.removeItem(atPath: path) }
    }

    /// `sitewall confirm`: keeps the new ruleset. False when nothing awaits confirmation.
    public static func confirm(directory: String, wait: TimeInterval = 5) -> Bool {
        let paths = files(directory)
        guard isPending(directory: directory) else { return false }
        _ = FileManager.default.createFile(atPath: paths.confirmed, contents: Data())
        let until = Date().addingTimeInterval(wait)
        while isPending(directory: directory) && Date() < until { usleep(50_000) }
        return !isPending(directory: directory)
    }

    /// The watchdog's own loop; returns what it did, also written to the log.
    public static func run(directory: String) -> String {
        signal(SIGHUP, SIG_IGN)
        let paths = files(directory)
        guard let text = try? String(contentsOfFile: paths.deadline, encoding: .utf8) else { return "nothing pending" }
        let parts = text.split(separator: " ")
        let deadline = Double(parts.first ?? "") ?? 0
        let table = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespacesAndNewlines) : Table.defaultName
        while Date().timeIntervalSince1970 < deadline {
            if FileManager.default.fileExists(atPath: paths.confirmed) { break }
            usleep(100_000)
        }
        var outcome: String
        if FileManager.default.fileExists(atPath: paths.confirmed) {
            outcome = "confirmed: the new ruleset stays"
        } else {
            do {
                let snapshot = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: paths.snapshot))) ?? Data())
                try NetlinkApplier(socket: NetlinkSocket()).restore(table: table, snapshot: snapshot)
                outcome = "not confirmed in time: restored the previous table inet \(table)"
            } catch {
                outcome = "not confirmed in time, and the rollback failed: \(error)"
            }
        }
        let line = "\(Date()): \(outcome)\n"
        if let handle = FileHandle(forWritingAtPath: paths.log) ?? {
            _ = FileManager.default.createFile(atPath: paths.log, contents: nil)
            return FileHandle(forWritingAtPath: paths.log)
        }() {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try? handle.close()
        }
        disarm(directory: directory)
        return outcome
    }
}

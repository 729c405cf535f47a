import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The rollback of `apply --confirm`. Its state lives in one `StateDirectory`:
///
///   pending            the unconfirmed apply (id, deadline, table, the saved table's size and checksum,
///                      the boot file to write on confirmation); its presence is the only "pending" flag
///   previous.snapshot  sitewall's table as it was, as raw netlink messages
///   persist.nft        the script `--persist` writes once the new rules are confirmed
///   decision.lock      held while one decision (confirm, roll back, cancel) is made and carried out,
///                      so confirm and rollback exclude each other: whichever comes second sees the
///                      first one's outcome and reports it
///   watchdog-ID.lock   held by the live watchdog of apply ID for its whole life: a killed watchdog
///                      releases it, which is how a dead one is told from a live one
///   outcome            the last decision, in words; watchdog.log keeps them all
public enum Watchdog {
    public struct Pending: Codable, Sendable {
        public var id: String
        public var deadline: Double
        public var table: String
        /// Size and FNV-1a checksum of previous.snapshot; nil size: there was no table (rollback deletes it).
        public var snapshotBytes: Int?
        public var snapshotChecksum: String
        public var persistPath: String?
    }

    public enum Status {
        case none
        case pending(Pending, watchdogAlive: Bool)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static let pendingFile = "pending", snapshotFile = "previous.snapshot", persistFile = "persist.nft"
    static let decisionLock = "decision.lock", outcomeFile = "outcome", logFile = "watchdog.log"
    static func watchdogLock(_ id: String) -> String { "watchdog-\(id).lock" }

    public static func status(_ state: StateDirectory) throws -> Status {
        guard let pending = try readPending(state) else { return .none }
        return .pending(pending, watchdogAlive: state.isHeld(watchdogLock(pending.id)))
    }

    static func readPending(_ state: StateDirectory) throws -> Pending? {
        guard let bytes = try state.read(pendingFile) else { return nil }
        do {
            return try JSONDecoder().decode(Pending.self, from: Data(bytes))
        } catch {
            throw Failure(
                description: "\(state.path)/\(pendingFile) is unreadable; remove the folder \(state.path) "
                    + "after checking the running rules ('nft list table inet sitewall')")
        }
    }

    public static func lastOutcome(_ state: StateDirectory) -> String? {
        (try? state.readText(outcomeFile))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// FNV-1a 64: catches a truncated or replaced snapshot (the folder's permissions keep others out).
    static func checksum(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    // MARK: arming

    /// Saves the previous table and starts the watchdog, before the new ruleset is applied; returns
    /// once the watchdog is running (it holds its lock), so that an apply never goes unguarded.
    static func arm(
        _ state: StateDirectory, table: String, snapshot: [UInt8], seconds: Int,
        persist: (path: String, text: String)?, executable: String
    ) throws -> Pending {
        for name in state.names()
        where name.hasPrefix("watchdog-") && name.hasSuffix(".lock")
            || name.hasPrefix(".") || [snapshotFile, persistFile].contains(name)
        {
            state.remove(name)
        }
        let id = UUID().uuidString.lowercased()
        let pending = Pending(
            id: id, deadline: Date().timeIntervalSince1970 + Double(seconds), table: table,
            snapshotBytes: snapshot.isEmpty ? nil : snapshot.count, snapshotChecksum: checksum(snapshot),
            persistPath: persist?.path)
        try state.write(snapshotFile, snapshot)
        if let persist { try state.write(persistFile, text: persist.text) }
        try writePending(state, pending)
        // setsid -f: a new session, so the watchdog survives the terminal, SIGHUP and the apply process.
        let base = (state.path as NSString).deletingLastPathComponent
        let started = try? Subprocess.detached(
            "/usr/bin/setsid",
            [
                "-f", executable, "watchdog", "--state-directory", base,
                "--id", id,
            ])
        let until = Date().addingTimeInterval(10)
        while started == 0 && !state.isHeld(watchdogLock(id)) && Date() < until { usleep(10_000) }
        guard started == 0, state.isHeld(watchdogLock(id)) else {
            cancel(state, id: id, reason: "the rollback watchdog did not start")
            throw Failure(
                description: "the rollback watchdog did not start (\(executable) watchdog); nothing was changed")
        }
        return pending
    }

    /// Restarts the count once the transaction has committed, so that the operator gets the whole
    /// window however long the apply took (an apply killed before this keeps the first deadline).
    static func restartCount(_ state: StateDirectory, id: String, seconds: Int) {
        guard let lock = try? state.lock(decisionLock, wait: 10) else { return }
        defer { lock.release() }
        guard var pending = try? readPending(state), pending.id == id else { return }
        pending.deadline = Date().timeIntervalSince1970 + Double(seconds)
        try? writePending(state, pending)
    }

    static func writePending(_ state: StateDirectory, _ pending: Pending) throws {
        try state.write(pendingFile, Array(try JSONEncoder().encode(pending)))
    }

    /// Appends a timestamped line to watchdog.log; returns the line.
    @discardableResult
    private static func log(_ state: StateDirectory, _ text: String) -> String {
        let line = "\(ISO8601DateFormatter().string(from: Date())): \(text)"
        state.appendLine(logFile, line)
        return line
    }

    /// The decision lock (confirm, roll back): waits for a decision under way, at most 120 s.
    private static func takeDecisionLock(_ state: StateDirectory) throws -> FileLock {
        guard let lock = try state.lock(decisionLock, wait: 120) else {
            throw Failure(
                description: "another sitewall process holds \(state.path)/\(decisionLock) for more than 120 s")
        }
        return lock
    }

    /// Withdraws a pending apply whose transaction never committed: nothing to roll back.
    static func cancel(_ state: StateDirectory, id: String, reason: String) {
        guard let lock = try? state.lock(decisionLock, wait: 60) else { return }
        defer { lock.release() }
        guard let pending = try? readPending(state), pending.id == id else { return }
        finish(state, "apply \(id.prefix(8)) withdrawn: \(reason); the previous ruleset was never replaced")
    }

    /// Ends the pending state: the outcome is written first, then `pending` goes (the decision is then final).
    private static func finish(_ state: StateDirectory, _ outcome: String) {
        let line = log(state, outcome)
        try? state.write(outcomeFile, text: line + "\n")
        state.remove(pendingFile)
        state.remove(snapshotFile)
        state.remove(persistFile)
    }

    // MARK: decisions

    public enum Decision {
        /// Confirmed; `persistError` says why the boot file could not be written (the rules stay applied).
        case confirmed(persistPath: String?, persistError: String?, watchdogWasDead: Bool)
        /// Nothing was pending; the last outcome, if any, says what became of the last apply.
        case nothingPending(lastOutcome: String?)
    }

    /// `sitewall confirm`: keeps the new ruleset, and writes the boot file it was applied with.
    public static func confirm(_ state: StateDirectory) throws -> Decision {
        let lock = try takeDecisionLock(state)
        defer { lock.release() }
        guard let pending = try readPending(state) else { return .nothingPending(lastOutcome: lastOutcome(state)) }
        let dead = !state.isHeld(watchdogLock(pending.id))
        var persistError: String?
        if let path = pending.persistPath {
            do {
                guard let text = try state.readText(persistFile) else {
                    throw Failure(description: "\(persistFile) is missing")
                }
                try FileOutput.writeAtomically(text, to: path)
            } catch {
                persistError = "\(error)"
            }
        }
        finish(
            state,
            "apply \(pending.id.prefix(8)) confirmed: the new ruleset stays"
                + (persistError.map { "; the boot file was not written: \($0)" } ?? ""))
        return .confirmed(persistPath: pending.persistPath, persistError: persistError, watchdogWasDead: dead)
    }

    /// Puts the previous table back now (the watchdog at its deadline, or `sitewall rollback`).
    /// With `id`, only that apply's pending state is rolled back.
    public static func rollback(_ state: StateDirectory, id: String? = nil, reason: String) throws -> Decision? {
        let lock = try takeDecisionLock(state)
        defer { lock.release() }
        guard let pending = try readPending(state), id == nil || pending.id == id else {
            return .nothingPending(lastOutcome: lastOutcome(state))
        }
        let snapshot = try state.read(snapshotFile) ?? []
        guard snapshot.count == (pending.snapshotBytes ?? 0), checksum(snapshot) == pending.snapshotChecksum else {
            let problem =
                "apply \(pending.id.prefix(8)): \(reason), but the saved table in \(state.path)/\(snapshotFile) "
                + "is missing or was altered, so it is not restored; the unconfirmed rules stay in place"
            log(state, problem)
            throw Failure(description: problem)
        }
        do {
            try NetlinkApplier(socket: NetlinkSocket()).restore(table: pending.table, snapshot: snapshot)
        } catch {
            let problem =
                "apply \(pending.id.prefix(8)): \(reason), and restoring the previous table failed: \(error); "
                + "the unconfirmed rules stay in place ('sitewall rollback' tries again)"
            log(state, problem)
            throw Failure(description: problem)
        }
        let what =
            pending.snapshotBytes == nil
            ? "removed table inet \(pending.table) (there was none before)"
            : "restored the previous table inet \(pending.table)"
        finish(state, "apply \(pending.id.prefix(8)) rolled back (\(reason)): \(what)")
        return nil
    }

    // MARK: the watchdog process

    /// The watchdog's own loop; returns what it did (also in the log).
    public static func run(stateDirectory base: String, id: String) -> String {
        signal(SIGHUP, SIG_IGN)
        do {
            let state = try StateDirectory.open(base: base)
            guard let alive = try state.lock(watchdogLock(id), wait: 5) else {
                return "another watchdog runs for \(id)"
            }
            defer {
                alive.release()
                state.remove(watchdogLock(id))
            }
            guard var pending = try readPending(state), pending.id == id else { return "nothing pending" }
            // The deadline may move once: apply restarts the count when its transaction commits.
            while Date().timeIntervalSince1970 < pending.deadline {
                usleep(50_000)
                guard let current = try? readPending(state), current.id == id else {
                    return lastOutcome(state) ?? "decided elsewhere"
                }
                pending = current
            }
            if case .nothingPending(let outcome) = try rollback(state, id: id, reason: "not confirmed in time") {
                return outcome ?? "decided elsewhere"
            }
            return lastOutcome(state) ?? "rolled back"
        } catch {
            return "\(error)"
        }
    }
}

import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

extension Trait where Self == ConditionTrait {
    /// The interop suite needs the protocol software (`make test-deps`); without it the suite is
    /// skipped as skipped, except under CI=true, where it runs and fails.
    static var interop: Self {
        .enabled(
            if: (NetnsSandbox.isAvailable && InteropRunner.missing.isEmpty) || NetnsSandbox.mustRun,
            "needs network namespaces and the interop software (make test-deps); missing: \(InteropRunner.missing)")
    }
}

/// Issue 13: real protocol software (Debian packages and pinned PyPI packages) through every
/// example's compiled rules, with each loader: what the site allows works, its neighbour fails.
/// Self-tests: with no rules every exchange works (the software does), with drop-all none does.
@Suite(.serialized, .kernel, .interop) struct InteropTests {
    static func run(_ mode: InteropMode) throws -> [InteropResult] {
        #expect(InteropRunner.missing.isEmpty, "missing: \(InteropRunner.missing)")
        var results: [InteropResult] = []
        for site in InteropCatalogue.sites { results += try InteropRunner.run(site, mode: mode) }
        let failed = results.filter { !$0.matches }.count
        print("interop (\(mode)):\n" + results.map { "  " + $0.line }.joined(separator: "\n"))
        print("interop (\(mode)): \(results.count - failed) passed, \(failed) failed")
        for result in results where !result.matches { Issue.record("\(mode): \(result.line)\n\(result.details)") }
        return results
    }

    @Test(arguments: [BackendKind.nft, .netlink, .iptables])
    func realSoftwareWorksExactlyWhereTheSiteSays(_ loader: BackendKind) throws {
        guard NftLoadTests.requireLab() else { return }
        let results = try Self.run(.rules(loader))
        #expect(results.contains { $0.expected } && results.contains { !$0.expected })
    }

    @Test func withoutRulesEveryExchangeWorks() throws {
        guard NftLoadTests.requireLab() else { return }
        let results = try Self.run(.acceptAll)
        #expect(!results.isEmpty && results.allSatisfy(\.expected))
    }

    @Test func withDropAllEveryExchangeFails() throws {
        guard NftLoadTests.requireLab() else { return }
        let results = try Self.run(.dropAll)
        #expect(!results.isEmpty && results.allSatisfy { !$0.expected })
    }

    enum Interruption: String, CaseIterable, Sendable {
        /// What a terminal's Ctrl-C does: SIGINT to the whole foreground process group.
        case ctrlC
        /// A kill of the runner alone: its script, clients and daemons get no signal of their own.
        case sigterm
        /// The same while a later site runs: every site's run must still hear the signal (the second
        /// one once lost it).
        case sigtermInALaterSite
    }

    /// Interrupted while its daemons run, a run leaves no namespace, no process and no scratch folder.
    @Test(arguments: Interruption.allCases)
    func anInterruptedRunLeavesNothingBehind(_ interruption: Interruption) throws {
        guard NftLoadTests.requireLab() else { return }
        let temporary = ScratchDirectory.temporary
        let scratchFolders = {
            ScratchDirectory.temporaryFolders(startingWith: ["sitewall-interop-", "sitewall-lab-"])
        }
        let before = scratchFolders()
        let scratch = try ScratchDirectory("sitewall-test")
        let sites = interruption == .sigtermInALaterSite ? "plant-scada,security-center-iiot" : "security-center-iiot"
        let job = try ForegroundJob(
            Repository.built("sitewall-interop"), ["--site", sites, "--mode", "nft"], stderr: scratch.file("stderr"))
        let pid = job.pid
        let prefix = "swl\(pid)x"
        // Whatever the run leaves (on a failure) goes when the test ends.
        defer {
            if job.wait(seconds: 0) == nil { kill(-pid, SIGKILL) }
            for namespace in Lab.existingNamespaces(prefix: prefix) {
                _ = try? Run.program("/bin/sh", ["-c", "ip netns pids \(namespace) | xargs -r kill -9"])
                _ = try? Run.program("/usr/sbin/ip", ["netns", "del", namespace])
            }
            for folder in scratchFolders().subtracting(before) {
                try? FileManager.default.removeItem(atPath: temporary + "/" + folder)
            }
        }
        let inLab = { () -> [Int32] in
            Lab.existingNamespaces(prefix: prefix).flatMap { namespace in
                ((try? Run.program("/usr/sbin/ip", ["netns", "pids", namespace]))?.stdout ?? "")
                    .split(separator: "\n").compactMap { Int32($0) }
            }
        }
        // A lab's namespaces are named swl<pid>x<lab>-N: which lab is up.
        let labsUp = { Set(Lab.existingNamespaces(prefix: prefix).map { $0.split(separator: "-")[0] }) }
        // Wait until the daemons run (three or more processes in the lab; for a later site, in a lab
        // other than the first one seen), then interrupt.
        let deadline = Date().addingTimeInterval(90)
        var firstLab: Set<Substring>?
        var running: [Int32] = []
        while Date() < deadline && job.wait(seconds: 0) == nil {
            let labs = labsUp()
            running = inLab()
            if firstLab == nil && !labs.isEmpty { firstLab = labs }
            let later = interruption != .sigtermInALaterSite || (!labs.isEmpty && labs != firstLab)
            if later && running.count >= 3 { break }
            usleep(50_000)
        }
        try #require(running.count >= 3, "the daemons never started: \(running)")
        let runFolders = scratchFolders().subtracting(before)
        switch interruption {
        case .ctrlC: kill(-pid, SIGINT)
        case .sigterm, .sigtermInALaterSite: kill(pid, SIGTERM)
        }
        let status = job.wait(seconds: 30)
        let message = job.stderr
        #expect(status == (interruption == .ctrlC ? 130 : 143), "\(message)")
        #expect(message.contains("interrupted: the lab, its daemons and clients were removed"))
        #expect(Lab.existingNamespaces(prefix: prefix).isEmpty)
        // Killed processes may linger a moment as zombies until init reaps them; none may still run.
        let stillRunning = { () -> [Int32] in
            running.filter { pid in
                guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else {
                    return false
                }
                return !status.contains("State:\tZ")
            }
        }
        let settled = Date().addingTimeInterval(5)
        while !stillRunning().isEmpty && Date() < settled { usleep(50_000) }
        #expect(stillRunning().isEmpty, "still running: \(stillRunning())")
        // Nothing of the run's own (its script and clients name its folders) outlives it either.
        for folder in runFolders {
            let left = try Run.program("/usr/bin/pgrep", ["-af", folder])
            #expect(left.stdout.isEmpty, "left running: \(left.stdout)")
        }
        #expect(scratchFolders().subtracting(before).isEmpty, "left: \(scratchFolders().subtracting(before))")
    }
}

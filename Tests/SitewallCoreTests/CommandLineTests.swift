import Foundation
import SitewallCore
import SitewallTestSupport
import Testing

/// Runs the built `sitewall` binary the way a user does: output and exit codes.
@Suite struct CommandLineTests {
    static func sitewall(_ arguments: String...) throws -> ProcessResult {
        try Run.program(Repository.executable, arguments + ["--profiles", Repository.profiles])
    }

    static func temporaryDirectory() throws -> ScratchDirectory { try ScratchDirectory("sitewall-cli") }

    /// A Modbus client and server in two zones (no conduit).
    static let modbusAcrossZones = """
        site: t
        zones:
          a: { networks: [10.0.0.0/24] }
          b: { networks: [10.0.1.0/24] }
        hosts:
          m: { address: 10.0.0.1, roles: [modbus/client] }
          s: { address: 10.0.1.1, roles: [modbus/server] }
        """

    @Test func checkPassesOnEveryExampleWithoutWarnings() throws {
        for name in Repository.exampleNames {
            let result = try Self.sitewall("check", Repository.example(name))
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(result.stdout.contains("0 errors, 0 warnings"), "\(name): \(result.stdout)")
        }
    }

    @Test func checkReportsErrorsWithPositionAndExitsOne() throws {
        let scratch = try Self.temporaryDirectory()
        let directory = scratch.path
        let site = directory + "/bad.yaml"
        try
            ("site: t\nzones:\n  a: { networks: [10.0.0.0/24] }\nhosts:\n"
            + "  s: { address: 10.0.0.1, roles: [modbus/sever] }\n")
            .write(toFile: site, atomically: true, encoding: .utf8)
        let result = try Self.sitewall("check", site)
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(site):5:35: error: host 's' has unknown role 'modbus/sever'"))
        #expect(result.stderr.contains("did you mean 'modbus/server'?"))
    }

    @Test func checkWarningsExitZero() throws {
        let scratch = try Self.temporaryDirectory()
        let directory = scratch.path
        let site = directory + "/gap.yaml"
        try Self.modbusAcrossZones.write(toFile: site, atomically: true, encoding: .utf8)
        let result = try Self.sitewall("check", site)
        #expect(result.status == 0)
        #expect(result.stderr.contains("warning: no conduit lets m (a) -> s (b): modbus/modbus tcp/502"))
    }

    /// Issue 16: `check --format json` puts every finding, errors included, in one document on stdout.
    @Test func checkPrintsItsFindingsAsJSON() throws {
        let scratch = try Self.temporaryDirectory()
        let gap = scratch.file("gap.yaml")
        try Self.modbusAcrossZones.write(toFile: gap, atomically: true, encoding: .utf8)
        let warned = try Self.sitewall("check", gap, "--format", "json")
        #expect(warned.status == 0 && warned.stderr.isEmpty, "\(warned.stderr)")
        let report = try JSONDecoder().decode(CheckReport.self, from: Data(warned.stdout.utf8))
        #expect(report.ok && report.errors == 0 && report.warnings == 1)
        #expect(report.counts?.hosts == 2 && report.counts?.zones == 2)
        #expect(report.findings.first?.location?.line == 6)
        #expect(report.findings.first?.fix?.contains("to: b, services: [modbus/modbus]") == true)
        let strict = try Self.sitewall("check", gap, "--format", "json", "--strict")
        #expect(strict.status == 1)
        #expect(try JSONDecoder().decode(CheckReport.self, from: Data(strict.stdout.utf8)).ok == false)

        let bad = scratch.file("bad.yaml")
        try
            ("site: t\nzones:\n  a: { networks: [10.0.0.0/24] }\nhosts:\n"
            + "  s: { address: 10.0.0.1, roles: [modbus/sever] }\n")
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let failed = try Self.sitewall("check", bad, "--format", "json")
        #expect(failed.status == 1)
        let errors = try JSONDecoder().decode(CheckReport.self, from: Data(failed.stdout.utf8))
        #expect(!errors.ok && errors.errors == 1 && errors.counts == nil)
        let error = try #require(errors.findings.first)
        #expect(error.severity == .error && error.location == SourceLocation(file: bad, line: 5, column: 35))
        // The document's own keys, not only what this decoder reads back.
        #expect(failed.stdout.contains("\"line\" : 5") && failed.stdout.contains("\"column\" : 35"), "\(failed.stdout)")
        #expect(error.fix?.contains("modbus/server") == true || error.message.contains("modbus/server"))
    }

    /// Issue 16: `explain --to HOST[:PORT]` and `--from HOST[:PORT]`, IPv6 addresses in brackets.
    @Test func explainAnswersReverseQuestions() throws {
        let campus = Repository.example("campus")
        let to = try Self.sitewall("explain", campus, "--to", "[2001:db8:10:1::21]:502")
        #expect(to.status == 0, "\(to.stderr)")
        #expect(to.stdout.hasPrefix("who can reach plc-1 on port 502: 2 allowed"), "\(to.stdout)")
        #expect(to.stdout.contains("scada-1 (2001:db8:10:2::10) in supervisory -> 2001:db8:10:1::21: allowed"))
        let from = try Self.sitewall("explain", campus, "--from", "sc-plugin", "--format", "json")
        #expect(from.status == 0)
        let answer = try JSONDecoder().decode(Reachability.self, from: Data(from.stdout.utf8))
        #expect(answer.direction == .from && answer.flows.contains { $0.service == "modbus/modbus" })
        let both = try Self.sitewall("explain", campus, "--to", "plc-1", "--from", "hmi-1")
        #expect(both.status == 64 && both.stderr.contains("ask one question"))
        let badPort = try Self.sitewall("explain", campus, "--to", "plc-1:http")
        #expect(badPort.status == 64 && badPort.stderr.contains("is not HOST or HOST:PORT"))
        let nothing = try Self.sitewall("explain", campus)
        #expect(nothing.status == 64 && nothing.stderr.contains("give FROM TO PROTO/PORT"))
    }

    @Test func compileAllWritesOneFilePerTargetAndBadInputWritesNothing() throws {
        let scratch = try Self.temporaryDirectory()
        let directory = scratch.path
        let good = try Self.sitewall("compile", Repository.example("campus"), "--all", "--output", directory + "/good")
        #expect(good.status == 0, "\(good.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/good")
        #expect(files.count == 16 && files.contains("gw-1.nft"))

        let site = directory + "/bad.yaml"
        try
            ("site: t\nzones:\n  a: { networks: [10.0.0.0/24] }\nhosts:\n"
            + "  s: { address: 10.0.0.1, roles: [opto22/chart-logic-server] }\n")
            .write(toFile: site, atomically: true, encoding: .utf8)
        let bad = try Self.sitewall("compile", site, "--all", "--output", directory + "/bad")
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("nothing was written"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/bad"))
        let single = try Self.sitewall("compile", site, "--host", "s", "--output", directory + "/s.nft")
        #expect(single.status == 1 && !FileManager.default.fileExists(atPath: directory + "/s.nft"))
    }

    /// compile --all replaces its folder whole: files of targets that left the site go, a failure
    /// leaves the previous folder as it was, and a folder holding anything else is refused (issue 17).
    @Test func compileAllReplacesItsFolderWhole() throws {
        let scratch = try Self.temporaryDirectory()
        let out = scratch.file("out")
        #expect(try Self.sitewall("compile", Repository.example("campus"), "--all", "--output", out).status == 0)
        try "table inet sitewall {}\n".write(toFile: out + "/retired-host.nft", atomically: true, encoding: .utf8)
        let again = try Self.sitewall("compile", Repository.example("campus"), "--all", "--output", out)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("removed 1 file of targets no longer in the site: retired-host.nft"))
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files.count == 16 && !files.contains("retired-host.nft"), "\(files)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["out"], "no staging left")

        // A site that fails to compile leaves the folder as it was.
        let bad = scratch.file("bad.yaml")
        try
            ("site: t\nzones:\n  a: { networks: [10.0.0.0/24] }\nhosts:\n"
            + "  s: { address: 10.0.0.1, roles: [opto22/chart-logic-server] }\n")
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let failed = try Self.sitewall("compile", bad, "--all", "--output", out)
        #expect(failed.status == 1 && failed.stderr.contains("nothing was written"), "\(failed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == files)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted() == ["bad.yaml", "out"])

        // Anything compile does not write is a reason to refuse, not to delete.
        try "keep me\n".write(toFile: out + "/notes.txt", atomically: true, encoding: .utf8)
        let foreign = try Self.sitewall("compile", Repository.example("campus"), "--all", "--output", out)
        #expect(foreign.status == 1)
        #expect(foreign.stderr.contains("it holds 'notes.txt', which compile does not write"), "\(foreign.stderr)")
        #expect(FileManager.default.fileExists(atPath: out + "/notes.txt"))
        try FileManager.default.createSymbolicLink(atPath: scratch.file("link"), withDestinationPath: out)
        let link = try Self.sitewall("compile", Repository.example("campus"), "--all", "--output", scratch.file("link"))
        #expect(link.status == 1 && link.stderr.contains("it is a symbolic link"), "\(link.stderr)")
    }

    /// compile --all shows its progress on a terminal, and nothing of it when stderr is not one (issue 14).
    @Test func compileAllShowsProgressOnATerminalOnly() throws {
        let scratch = try Self.temporaryDirectory()
        let command = [
            Repository.executable, "compile", Repository.example("campus"), "--all", "--output", scratch.file("out"),
            "--profiles", Repository.profiles,
        ].joined(separator: " ")
        // util-linux's script(1) runs the command on a pseudo-terminal and copies what it writes.
        let terminal = try Run.program("/usr/bin/script", ["-qec", command, "/dev/null"])
        #expect(terminal.status == 0 && terminal.stdout.contains("compiling 1/16"), "\(terminal.stdout)")
        let piped = try Self.sitewall("compile", Repository.example("campus"), "--all", "--output", scratch.file("out"))
        #expect(piped.status == 0 && piped.stderr.isEmpty, "\(piped.stderr)")
    }

    /// Small things a new user met (issue 17): counts in words, profiles by role, hints that list
    /// the profile asked for, diff's warnings on stderr (in DiffTests), verify's JSON failures only.
    @Test func messagesANewUserReads() throws {
        let scratch = try Self.temporaryDirectory()
        let site = scratch.file("one.yaml")
        try (Self.modbusAcrossZones + "\nconduits:\n  - { from: a, to: b, services: [modbus] }\n")
            .write(toFile: site, atomically: true, encoding: .utf8)
        let check = try Self.sitewall("check", site)
        #expect(check.stdout.contains("2 hosts, 2 zones, 1 conduit, 1 allowed flow group; 0 errors, 0 warnings"))

        let byRole = try Self.sitewall("profiles", "show", "plant-scada/alarm-server")
        #expect(byRole.status == 0 && byRole.stdout.contains("role plant-scada/alarm-server is in profile plant-scada"))
        let bareRole = try Self.sitewall("profiles", "show", "alarm-server")
        #expect(bareRole.status == 1)
        #expect(bareRole.stderr.contains("plant-scada/alarm-server (sitewall profiles show plant-scada)"))
        let partial = try Self.sitewall("profiles", "show", "scada")
        #expect(partial.stderr.contains("did you mean 'plant-scada'?"), "\(partial.stderr)")

        let bare = try Run.program(Repository.executable, [])
        #expect(bare.status == 0 && bare.stdout.contains("USAGE: sitewall <subcommand>"), "\(bare.stderr)")
        #expect(bare.stdout.contains("EXIT STATUS"), "exit codes are documented in the help")
    }

    @Test func compileCreatesTheOutputFolder() throws {
        let scratch = try Self.temporaryDirectory()
        let directory = scratch.path
        let result = try Self.sitewall(
            "compile", Repository.example("campus"), "--gateway", "gw-1", "--output", directory + "/new/gw-1.nft")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            try String(contentsOfFile: directory + "/new/gw-1.nft", encoding: .utf8).contains("table inet sitewall {"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/new") == ["gw-1.nft"])
    }

    @Test func compileTargetsAndUsage() throws {
        let campus = Repository.example("campus")
        #expect(try Self.sitewall("compile", campus, "--gateway", "gw-1").stdout.contains("table inet sitewall {"))
        let json = try Self.sitewall("compile", campus, "--host", "scada-1", "--format", "json")
        #expect(json.status == 0 && json.stdout.contains("\"kind\" : \"host\""))
        let wrongKind = try Self.sitewall("compile", campus, "--host", "gw-1")
        #expect(wrongKind.status == 1 && wrongKind.stderr.contains("'gw-1' is a gateway: use --gateway gw-1"))
        let typo = try Self.sitewall("compile", campus, "--host", "scada-l")
        #expect(typo.status == 1 && typo.stderr.contains("did you mean 'scada-1'?"))
        let usage = try Self.sitewall("compile", campus)
        #expect(usage.status == 64 && usage.stderr.contains("give exactly one of --host NAME, --gateway NAME or --all"))
    }

    @Test func profilesListAndShow() throws {
        let list = try Self.sitewall("profiles")
        #expect(list.status == 0 && list.stdout.contains("plant-scada/alarm-server"))
        let show = try Self.sitewall("profiles", "show", "plant-scada")
        #expect(show.status == 0)
        #expect(show.stdout.contains("plant-scada/alarm  tcp/2080, configurable"))
        #expect(show.stdout.contains("source: aveva-server-processes: row 2080 'Alarm server.'"))
        #expect(show.stdout.contains("Invalid port number (2080-2088,2073,3073,5482,20222 are reserved)."))
        let missing = try Self.sitewall("profiles", "show", "plantscada")
        #expect(missing.status == 1 && missing.stderr.contains("did you mean 'plant-scada'?"))
    }

    /// Without root, commands that read or change the ruleset say what they need (issue 17).
    @Test(.enabled(if: geteuid() == 0, "needs root to run the commands as nobody"))
    func withoutRootTheMessageSaysWhatIsNeeded() throws {
        let scratch = try Self.temporaryDirectory()
        chmod(scratch.path, 0o755)
        let site = scratch.file("campus.yaml")
        try String(contentsOfFile: Repository.example("campus"), encoding: .utf8)
            .write(toFile: site, atomically: true, encoding: .utf8)
        chmod(site, 0o644)
        let asNobody = { (arguments: [String]) in
            try Run.program(
                "/usr/bin/setpriv",
                ["--reuid=65534", "--regid=65534", "--clear-groups", Repository.executable] + arguments
                    + ["--profiles", Repository.profiles])
        }
        let apply = try asNobody(["apply", site, "--gateway", "gw-1", "--state-directory", "/run/sitewall-nobody/x"])
        #expect(apply.status != 0)
        #expect(apply.stderr.contains("fix: run as root"), "\(apply.stderr)")
        let diff = try asNobody(["diff", site, "--gateway", "gw-1"])
        #expect(diff.status == 2)
        #expect(diff.stderr.contains("fix: run as root (the ruleset needs CAP_NET_ADMIN)"), "\(diff.stderr)")
    }
}

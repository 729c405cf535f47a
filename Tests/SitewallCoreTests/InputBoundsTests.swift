import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// What a site file may cost before it is read (issue 14): aliases count with their expansion, and
/// a file past the size limit is refused unread.
@Suite struct InputBoundsTests {
    /// Nine levels of ten aliases each: 10^9 values when written out, from a file of a few hundred bytes.
    static let laughs: String = {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            text +=
                "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
                + "]\n"
        }
        return text
    }()

    @Test func nestedAliasesAreRefusedWhereTheyGrowTooLarge() throws {
        let errors = SiteFixture.errors("site: t\n" + Self.laughs + "zones: {}\n")
        let error = try #require(errors.first)
        #expect(error.message.contains("aliases expand this file past"), "\(error)")
        #expect(error.location?.line == 6, "a4, the first level past the limit: \(error)")
    }

    /// Yams hashed the expanded node of an alias used as a mapping key (a minute for 600 bytes): now
    /// the key is never expanded, and it is an error where it is written.
    @Test func anAliasAsAMappingKeyIsAnError() throws {
        let text =
            "site: t\n" + Self.laughs.split(separator: "\n").prefix(4).joined(separator: "\n")
            + "\nzones:\n  ? *a3\n  : { networks: [10.0.0.0/24] }\n"
        let errors = SiteFixture.errors(text)
        #expect(errors.contains { $0.message == "zones has a key that is not a plain name" }, "\(errors)")
    }

    @Test func aFewAliasesOfAnOrdinarySiteAreFine() throws {
        let diagnostics = SiteFixture.diagnostics(
            """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              s: { address: 10.0.0.1, roles: &both [ntp/server, ntp/client] }
              t: { address: 10.0.0.2, roles: *both }
            """)
        #expect(!diagnostics.contains { $0.severity == .error }, "\(diagnostics)")
    }

    @Test func aFilePastTheSizeLimitIsRefusedUnread() throws {
        let scratch = try ScratchDirectory("sitewall-bounds")
        let site = scratch.file("big.yaml")
        let host = "  h: { address: 10.0.0.1, roles: [ntp/client] }\n"
        try
            ("site: t\nzones: {}\nhosts:\n"
            + String(repeating: "# " + String(repeating: "x", count: 1000) + "\n", count: 2100) + host)
            .write(toFile: site, atomically: true, encoding: .utf8)
        var log = DiagnosticLog()
        #expect(SiteLoader.load(path: site, log: &log, maximumBytes: 1 << 20) == nil)
        let error = try #require(log.diagnostics.first)
        #expect(error.message == "'\(site)' is 2 MiB, more than sitewall reads (1 MiB)", "\(error)")
        #expect(error.fix?.contains("SITEWALL_MAX_INPUT_MIB") == true)

        let viaEnvironment = try Run.program(
            "/usr/bin/env",
            ["SITEWALL_MAX_INPUT_MIB=1", Repository.executable, "check", site, "--profiles", Repository.profiles])
        #expect(viaEnvironment.status == 1 && viaEnvironment.stderr.contains("more than sitewall reads (1 MiB)"))
    }

    /// The CLI asks glibc to keep freed memory for the run (fewer page faults at site scale): every
    /// setting must be one glibc takes, or the tuning would silently be partly absent.
    @Test func glibcTakesTheMemorySettings() {
        #expect(ProcessMemory.keepFreedMemory())
    }
}

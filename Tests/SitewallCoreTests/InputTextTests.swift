import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Error text shows input escaped and clipped (issue 10, item 12).
@Suite struct InputTextTests {
    @Test func escapeSequencesAndHugeNamesFromASiteAreNeitherEchoedNorFlooded() throws {
        let scratch = try ScratchDirectory()
        let huge = String(repeating: "h", count: 1_000_000)
        let site = """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              "evil\\e[2J\\e]0;owned\\u0007": { address: 10.0.0.2, roles: [modbus/server] }
              scada: { address: 10.0.0.3, roles: [modbus/\(huge)] }
            """
        try site.write(toFile: scratch.file("site.yaml"), atomically: true, encoding: .utf8)
        let result = try Run.program(
            Repository.executable, ["check", scratch.file("site.yaml"), "--profiles", Repository.profiles])
        #expect(result.status == 1, "\(result.stderr.prefix(2000))")
        #expect(
            !result.stderr.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 },
            "\(result.stderr.prefix(2000))")
        #expect(result.stderr.utf8.count < 8000, "\(result.stderr.utf8.count) bytes of errors")
        #expect(result.stderr.contains("characters left out"), "\(result.stderr.prefix(2000))")
    }

    @Test func quotedValuesAreEscapedAndClipped() {
        #expect(InputText.quoted("a\u{1b}[31mb") == "'a\\u{1b}[31mb'")
        #expect(InputText.quoted(String(repeating: "x", count: 500)).count < 120)
        #expect(InputText.terminalSafe("line 1\n\tline 2\u{202e}") == "line 1\n\tline 2\\u{202e}")
    }
}

/// The shim answers 0 for an object it could not encode: such a batch is never sent (issue 11).
@Suite struct NetlinkEncodingTests {
    @Test func anObjectThatCouldNotBeEncodedStopsTheBatch() {
        let batch = NetlinkBatch()
        batch.begin(generation: nil)
        batch.record(0, "set broken_v4")
        #expect {
            try batch.checkEncoded()
        } throws: { error in
            "\(error)".contains("set broken_v4")
        }
    }
}

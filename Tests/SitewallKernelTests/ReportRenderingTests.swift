import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 16, part 3: the HTML report renders in a real browser (Debian's chromium, headless) in a network
/// namespace with no network at all: a screenshot with something on it, one diagram node per zone and
/// one arrow per conduit pair, the page's script ran, and the console stayed empty (a blocked fetch or
/// a script error would be logged there).
@Suite(.serialized, .enabled(if: Browser.isAvailable || NetnsSandbox.mustRun, "needs chromium and unshare --net"))
struct ReportRenderingTests {
    static func sitewall(_ arguments: [String]) throws -> ProcessResult {
        try Run.program(Repository.executable, arguments + ["--profiles", Repository.profiles])
    }

    @Test(arguments: Repository.exampleNames)
    func theReportRendersInHeadlessChromium(_ example: String) throws {
        try #require(Browser.isAvailable, "chromium or unshare is missing: \(Browser.path)")
        let scratch = try ScratchDirectory("sitewall-report")
        let page = scratch.file("report.html")
        let written = try Self.sitewall(["report", Repository.example(example), "--output", page])
        try #require(written.status == 0, "\(written.stderr)")
        let shot = scratch.file("report.png")
        let rendered = try Browser.render(page, screenshot: shot, scratch: scratch)
        // The page's own script ran to its end and caught no error.
        #expect(rendered.dom.contains("data-ready=\"yes\""), "\(rendered.dom.prefix(400))")
        #expect(rendered.dom.contains("<pre id=\"errors\" hidden=\"\"></pre>"))
        #expect(rendered.console.isEmpty, "console: \(rendered.console)")
        // The diagram as the browser built it: one node per zone of the site, one arrow per conduit pair.
        let workspace = try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        let zones = rendered.dom.components(separatedBy: "<g class=\"zone\" data-zone=\"").dropFirst()
            .map { String($0.prefix { $0 != "\"" }) }
        #expect(zones == workspace.resolved.zones.map(\.name))
        let pairs = Set(
            workspace.resolved.site.conduits.filter { $0.from.value != $0.to.value }.map {
                [$0.from.value, $0.to.value]
            })
        #expect(rendered.dom.components(separatedBy: "<g class=\"conduit").count - 1 == pairs.count)
        // A PNG of the page's size with content: a blank page compresses to a few kilobytes.
        let png = try #require(FileManager.default.contents(atPath: shot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 1280)
        #expect(png.count > 40_000, "screenshot of \(png.count) bytes")
    }

    /// The checks above can fail: a page with a script error and a blocked fetch is caught by them.
    @Test func aBrokenPageIsCaught() throws {
        try #require(Browser.isAvailable)
        let scratch = try ScratchDirectory("sitewall-report")
        let page = scratch.file("broken.html")
        try """
        <!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
        script-src 'unsafe-inline'"></head><body><img src="http://192.0.2.1/x.png">\
        <script>undefinedFunction();</script></body></html>
        """.write(toFile: page, atomically: true, encoding: .utf8)
        let rendered = try Browser.render(page, screenshot: scratch.file("broken.png"), scratch: scratch)
        #expect(rendered.console.contains { $0.contains("undefinedFunction") })
        #expect(rendered.console.contains { $0.contains("Content Security Policy") })
    }
}

/// Debian's chromium, headless, in a network namespace of its own (no network at all, so the page cannot
/// fetch anything and nothing leaves the machine), with a profile folder of its own.
enum Browser {
    static let path = "/usr/bin/chromium"

    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: path) && NetnsSandbox.isAvailable
    }

    struct Rendering {
        var dom: String
        /// What the page wrote to the console, and the errors the browser logged there.
        var console: [String]
    }

    static func render(_ page: String, screenshot: String, scratch: ScratchDirectory) throws -> Rendering {
        let flags =
            "--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions "
            + "--user-data-dir='\(scratch.file("profile"))' --enable-logging=stderr --v=0 --window-size=1280,2000"
        let result = try NetnsSandbox.run(
            """
            export HOME='\(scratch.path)'
            \(path) \(flags) --screenshot='\(screenshot)' 'file://\(page)' 2> '\(scratch.file("shot.log"))' > /dev/null
            \(path) \(flags) --dump-dom 'file://\(page)' 2> '\(scratch.file("dom.log"))'
            """)
        guard result.status == 0 else {
            let log = (try? String(contentsOfFile: scratch.file("dom.log"), encoding: .utf8)) ?? ""
            throw BrowserFailure(description: "chromium failed (\(result.status)): \(result.stderr)\(log.suffix(2000))")
        }
        var console: [String] = []
        for log in ["shot.log", "dom.log"] {
            let text = (try? String(contentsOfFile: scratch.file(log), encoding: .utf8)) ?? ""
            // The browser's own pages (chrome://) log to the same console: only the report's lines count.
            console += text.split(separator: "\n").filter {
                $0.contains(":CONSOLE") && !$0.contains("source: chrome://")
            }
            .map(String.init)
        }
        return Rendering(dom: result.stdout, console: console)
    }

    struct BrowserFailure: Error, CustomStringConvertible {
        var description: String
    }
}

/// `report --running` and `--verify`: the drift of the rules running in a namespace, live and from a saved
/// dump, and verify's results in the report; rules that cannot be read are never "no differences".
@Suite(.serialized, .kernel) struct ReportLabTests {
    @Test func driftIsReportedLiveAndFromASavedDump() throws {
        let lab = try ApplyLab()
        let r = "\"$B\" report \"$E/campus.yaml\" --profiles \"$P\""
        let result = try lab.run(
            """
            sw apply "$E/campus.yaml" --gateway gw-1 --force > /dev/null
            rc=0; \(r) --running gw-1 --format json > "$T/clean.json" || rc=$?; echo "clean: exit $rc"
            nft add rule inet sitewall input tcp dport 9 accept
            nft -j list ruleset > "$T/saved.json"
            rc=0; \(r) --running gw-1 --output "$T/live.html" || rc=$?; echo "changed: exit $rc"
            rc=0; \(r) --running gw-1="$T/saved.json" --format md > "$T/saved.md" || rc=$?; echo "saved: exit $rc"
            rc=0; \(r) --running gw-1="$T/missing.json" --format json > "$T/missing.json.out" || rc=$?
            echo "unreadable: exit $rc"
            nft delete table inet sitewall
            rc=0; \(r) --running gw-1 --format json > "$T/gone.json" || rc=$?; echo "unloaded: exit $rc"
            rc=0; \(r) --running nobody > /dev/null 2> "$T/nobody.err" || rc=$?; echo "unknown target: exit $rc"
            """)
        for line in [
            "clean: exit 0", "changed: exit 1", "saved: exit 1", "unreadable: exit 1", "unloaded: exit 1",
            "unknown target: exit 1",
        ] {
            #expect(result.stdout.contains(line), "\(line) in \(result.stdout)\(result.stderr)")
        }
        let decode = { (name: String) throws -> SiteReport in
            try JSONDecoder().decode(
                SiteReport.self, from: Data(contentsOf: URL(fileURLWithPath: lab.scratch.file(name))))
        }
        let clean = try decode("clean.json")
        #expect(clean.drift?.first?.differences == 0 && clean.drift?.first?.error == nil)
        #expect(clean.drift?.first?.running == "kernel" && clean.drift?.first?.target == "gateway gw-1")
        let live = try String(contentsOfFile: lab.scratch.file("live.html"), encoding: .utf8)
        #expect(live.contains("1 difference</span>") && live.contains("accepts tcp/9 from anywhere"))
        let saved = try String(contentsOfFile: lab.scratch.file("saved.md"), encoding: .utf8)
        #expect(saved.contains("accepts tcp/9 from anywhere"))
        let missing = try decode("missing.json.out")
        #expect(missing.drift?.first?.error?.contains("cannot read") == true)
        let gone = try decode("gone.json")
        #expect(gone.drift?.first?.text.contains("is not loaded") == true, "\(gone.drift ?? [])")
        let nobody = try String(contentsOfFile: lab.scratch.file("nobody.err"), encoding: .utf8)
        #expect(nobody.contains("nobody"), "\(nobody)")
    }

    @Test func verifyResultsGoIntoTheReport() throws {
        let scratch = try ScratchDirectory("sitewall-report")
        let result = try Run.program(
            Repository.executable,
            [
                "report", Repository.example("megapower-video"), "--verify", "--format", "json", "--output",
                scratch.file("r.json"), "--profiles", Repository.profiles,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(
            SiteReport.self, from: Data(contentsOf: URL(fileURLWithPath: scratch.file("r.json"))))
        let verification = try #require(report.verification)
        #expect(verification.passed > 20 && verification.failed == 0 && verification.failures.isEmpty)
    }
}

import Foundation
import SitewallCore
import SitewallTestSupport

// sitewall-interop: the interop suite as a program, for `make interop` and for the test that
// interrupts a run. One line per exchange as each site finishes, then `N passed, N failed` per mode.
// Exit 0 when every exchange did what its mode expects, 1 otherwise, 2 when it cannot run.

/// Unbuffered, so that a piped run (make interop | tee) shows each site as it finishes.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let usage = """
    usage: sitewall-interop [--site NAME[,NAME...]] [--mode MODE[,MODE...]]
      sites: \(InteropCatalogue.all.map(\.name).joined(separator: ", "))
      modes: nft, netlink, iptables, accept-all, drop-all (default: all of them)

    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("sitewall-interop: \(message)\n".utf8))
    exit(2)
}

let modesByName: [String: InteropMode] = [
    "nft": .rules(.nft), "netlink": .rules(.netlink), "iptables": .rules(.iptables),
    "accept-all": .acceptAll, "drop-all": .dropAll,
]
var modeNames = ["nft", "netlink", "iptables", "accept-all", "drop-all"]
var sites = InteropCatalogue.sites
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    if flag == "-h" || flag == "--help" {
        say(usage)
        exit(0)
    }
    guard flag == "--site" || flag == "--mode", let value = arguments.popFirst() else { fail("\(flag)?\n\(usage)") }
    let names = value.split(separator: ",").map(String.init)
    if flag == "--mode" {
        for name in names where modesByName[name] == nil { fail("no mode '\(name)'\n\(usage)") }
        modeNames = names
    } else {
        for name in names where !InteropCatalogue.all.contains(where: { $0.name == name }) {
            fail("no site '\(name)'\n\(usage)")
        }
        sites = InteropCatalogue.all.filter { names.contains($0.name) }
    }
}
guard InteropRunner.missing.isEmpty else {
    fail("missing \(InteropRunner.missing.joined(separator: ", "))")
}

var allMatched = true
for name in modeNames {
    let mode = modesByName[name]!
    var passed = 0
    var failed = 0
    for site in sites {
        let results: [InteropResult]
        do { results = try InteropRunner.run(site, mode: mode) } catch { fail("\(site.name) (\(mode)): \(error)") }
        for result in results {
            say("\(mode) | " + result.line)
            if !result.matches {
                say(result.details.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            }
        }
        passed += results.filter(\.matches).count
        failed += results.filter { !$0.matches }.count
    }
    say("interop (\(mode)): \(passed) passed, \(failed) failed")
    allMatched = allMatched && failed == 0
}
exit(allMatched ? 0 : 1)

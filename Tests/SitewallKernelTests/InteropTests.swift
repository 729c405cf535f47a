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
}

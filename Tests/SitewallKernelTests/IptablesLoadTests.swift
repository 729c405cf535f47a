import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// The iptables output loads, replaces itself, and gives the same verdicts as the nft output.
@Suite(.serialized, .kernel) struct IptablesLoadTests {
    /// A policy with payload tests (an operation filter), which iptables refuses.
    static func looksIntoSegments(_ policy: Policy) -> Bool {
        policy.table.chains.contains { $0.rules.contains { $0.payload != nil } }
    }

    @Test(arguments: NftLoadTests.cases)
    func restoreAcceptsAndReloadsCleanly(_ testCase: NftLoadTests.Case) throws {
        guard NftLoadTests.requireLab() else { return }
        let workspace = try Workspace.load(site: Repository.example(testCase.example), profiles: Repository.profiles)
        let policy = workspace.policy(for: testCase.target)
        if Self.looksIntoSegments(policy) {
            // A Modbus operation filter: iptables cannot say it, so it is refused, never weakened.
            #expect(throws: IptablesBackend.Unsupported.self) { try IptablesBackend.render(policy, family: .ipv4) }
            return
        }
        let scratch = try ScratchDirectory("sitewall-ipt")
        let directory = scratch.url
        let v4 = directory.appendingPathComponent("rules.v4").path
        let v6 = directory.appendingPathComponent("rules.v6").path
        try IptablesBackend.render(policy, family: .ipv4).write(toFile: v4, atomically: true, encoding: .utf8)
        try IptablesBackend.render(policy, family: .ipv6).write(toFile: v6, atomically: true, encoding: .utf8)
        let result = try NetnsSandbox.run(
            """
            iptables-restore --test \(v4)
            ip6tables-restore --test \(v6)
            iptables-restore \(v4); ip6tables-restore \(v6)
            iptables-save | grep -v '^#' > \(directory.path)/first
            iptables-restore \(v4); ip6tables-restore \(v6)
            iptables-save | grep -v '^#' > \(directory.path)/second
            cmp \(directory.path)/first \(directory.path)/second
            grep -c -- '-A SITEWALL-' \(directory.path)/second
            """)
        #expect(result.status == 0, "\(result.stderr)")
        #expect((Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 3)
    }

    @Test(arguments: Repository.exampleNames)
    func iptablesAndNftGiveTheSameVerdicts(_ example: String) throws {
        guard NftLoadTests.requireLab() else { return }
        let workspace = try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        var options = Verifier.Options()
        options.load = Verifier.Options.iptablesLoader
        if workspace.compiler.targets.contains(where: { Self.looksIntoSegments(workspace.policy(for: $0)) }) {
            #expect(throws: IptablesBackend.Unsupported.self) { try Verifier.run(workspace, options: options) }
            return
        }
        let nft = try Verifier.run(workspace)
        let iptables = try Verifier.run(workspace, options: options)
        let key = { (result: ProbeResult) in "\(result.probe.label) [\(result.probe.reason)]" }
        let nftVerdicts = Dictionary(uniqueKeysWithValues: nft.results.map { (key($0), $0.observed) })
        let iptVerdicts = Dictionary(uniqueKeysWithValues: iptables.results.map { (key($0), $0.observed) })
        #expect(nftVerdicts.count == iptVerdicts.count && nftVerdicts.count > 20)
        for (probe, observed) in nftVerdicts where iptVerdicts[probe] != observed {
            Issue.record("\(probe): nft \(observed.rawValue), iptables \(iptVerdicts[probe]?.rawValue ?? "missing")")
        }
        #expect(iptables.failed == 0, "\(iptables.text(onlyFailures: true))")
        #expect(
            Lab.existingNamespaces(prefix: nft.labPrefix + "-").isEmpty
                && Lab.existingNamespaces(prefix: iptables.labPrefix + "-").isEmpty)
    }
}

import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Loads every example's generated scripts into a network namespace of its own and reads them back.
@Suite(.serialized, .kernel) struct NftLoadTests {
    static let foreignTable = """
        table ip foreign {
        \tchain keep {
        \t\ttype filter hook input priority 10; policy accept;
        \t\ttcp dport 9 counter accept comment "not sitewall's"
        \t}
        }
        """

    static func requireLab() -> Bool {
        if let reason = NetnsSandbox.unavailableReason {
            if NetnsSandbox.mustRun {
                Issue.record("kernel tests must run under CI but cannot: \(reason)")
            } else {
                print("skipping kernel test: \(reason)")
            }
            return false
        }
        return true
    }

    struct Case: CustomStringConvertible, Sendable {
        var example: String
        var target: Target
        var description: String { "\(example)/\(target.name)" }
    }

    static let cases: [Case] = Repository.exampleNames.flatMap { example -> [Case] in
        guard let workspace = try? Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        else { return [] }
        return workspace.compiler.targets.map { Case(example: example, target: $0) }
    }

    @Test func everyExampleHasTargets() {
        #expect(Repository.exampleNames.count >= 5)
        #expect(Self.cases.count >= 40)
    }

    @Test(arguments: cases)
    func loadsTwiceKeepsForeignTableAndMatchesPolicy(_ testCase: Case) throws {
        guard Self.requireLab() else { return }
        let workspace = try Workspace.load(site: Repository.example(testCase.example), profiles: Repository.profiles)
        let policy = workspace.policy(for: testCase.target)
        let scratch = try ScratchDirectory("sitewall-test")
        let directory = scratch.url
        let script = directory.appendingPathComponent("rules.nft").path
        let foreign = directory.appendingPathComponent("foreign.nft").path
        try NftBackend.render(policy).write(toFile: script, atomically: true, encoding: .utf8)
        try Self.foreignTable.write(toFile: foreign, atomically: true, encoding: .utf8)

        let result = try NetnsSandbox.run(
            """
            nft -f \(foreign)
            nft -f \(script)
            nft -j list ruleset
            echo '=====8<====='
            nft -f \(script)
            nft -j list ruleset
            """)
        try #require(result.status == 0, "nft failed: \(result.stderr)")
        let parts = result.stdout.components(separatedBy: "=====8<=====\n")
        try #require(parts.count == 2)
        let first = try NftRuleset(json: parts[0])
        let second = try NftRuleset(json: parts[1])

        // Loading twice changes nothing.
        let ours = try #require(first.tables["inet sitewall"])
        let again = try #require(second.tables["inet sitewall"])
        #expect(ours.chains == again.chains)
        #expect(ours.sets == again.sets)

        // The foreign table and its rule survive both loads.
        let kept = try #require(second.tables["ip foreign"])
        #expect(kept.chains["keep"]?.rules.count == 1)

        // What the kernel holds is what the policy says.
        for chain in policy.table.chains {
            let loaded = try #require(again.chains[chain.name], "chain \(chain.name) missing")
            #expect(loaded.hook == chain.hook.rawValue)
            #expect(loaded.policy == chain.policy.rawValue)
            #expect(loaded.rules.count == chain.rules.count, "chain \(chain.name)")
            for (rule, text) in zip(chain.rules, loaded.rules) where rule.comment != nil {
                #expect(text.hasSuffix("#" + (rule.comment ?? "")), "rule order or comment differs in \(chain.name)")
            }
        }
        #expect(Set(again.sets.keys) == Set(policy.table.sets.map(\.name)))
        for set in policy.table.sets {
            #expect(again.sets[set.name] == AddressSetElements.nft(set.elements).sorted(), "set \(set.name)")
        }
        #expect(again.helpers.sorted() == policy.table.helpers.map(\.rawValue).sorted())
    }

    /// Each golden nft file, loaded with `nft -f`, reads back (over netlink, and from `nft -j`) as
    /// exactly the policy the site compiles to: `sitewall diff` exits 0 both ways.
    @Test(arguments: Repository.exampleNames)
    func everyGoldenFileReadsBackAsItsPolicy(_ example: String) throws {
        guard Self.requireLab() else { return }
        let workspace = try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        let scratch = try ScratchDirectory("sitewall-golden")
        var script = ""
        for target in workspace.compiler.targets {
            let golden = "\(Repository.root)/Tests/Golden/\(example)/\(target.name).nft"
            let diff = DiffTests.sitewall([
                "diff", Repository.example(example), "--\(target.kind.rawValue)", target.name,
            ])
            script += """
                nft -f '\(golden)'
                \(diff) > /dev/null && echo "\(target.name) live: same" || echo "\(target.name) live: differs"
                nft -j list ruleset > \(scratch.url.path)/running.json
                \(diff) --running \(scratch.url.path)/running.json > /dev/null \
                    && echo "\(target.name) json: same" || echo "\(target.name) json: differs"

                """
        }
        let result = try NetnsSandbox.run(script)
        for target in workspace.compiler.targets {
            #expect(result.stdout.contains("\(target.name) live: same"), "\(example)/\(target.name): \(result.stdout)")
            #expect(result.stdout.contains("\(target.name) json: same"), "\(example)/\(target.name): \(result.stdout)")
        }
    }

    @Test func aBadScriptLeavesTheRunningRulesetUntouched() throws {
        guard Self.requireLab() else { return }
        let workspace = try Workspace.load(site: Repository.example("plant-scada"), profiles: Repository.profiles)
        let good = NftBackend.render(workspace.policy(for: Target(kind: .host, name: "hmi-1")))
        // The same script with a rule the kernel rejects at the end: the whole transaction must fail.
        let bad = good.replacingOccurrences(
            of: "\tchain output {", with: "\tchain output {\n\t\tmeta mark set 1 jump nowhere")
        let scratch = try ScratchDirectory("sitewall-test")
        let directory = scratch.url
        try good.write(toFile: directory.path + "/good.nft", atomically: true, encoding: .utf8)
        try bad.write(toFile: directory.path + "/bad.nft", atomically: true, encoding: .utf8)
        let result = try NetnsSandbox.run(
            """
            nft -f \(directory.path)/good.nft
            nft list ruleset > \(directory.path)/before
            if nft -f \(directory.path)/bad.nft 2>/dev/null; then echo "bad script loaded"; exit 3; fi
            nft list ruleset > \(directory.path)/after
            cmp \(directory.path)/before \(directory.path)/after
            """)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
    }
}

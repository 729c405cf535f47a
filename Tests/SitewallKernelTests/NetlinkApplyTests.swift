import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// `sitewall apply` over netlink, in namespaces of its own: same result as nft -f, atomic on
/// failure, safe to repeat, bound to the ruleset generation, and guarded against lockout.
@Suite(.serialized, .kernel) struct NetlinkApplyTests {
    static func policy(_ example: String, _ target: Target) throws -> Policy {
        try Workspace.load(site: Repository.example(example), profiles: Repository.profiles).policy(for: target)
    }

    static func sitewall(_ arguments: [String]) -> String {
        ([Repository.executable] + arguments + ["--profiles", Repository.profiles]).map { "'\($0)'" }.joined(
            separator: " ")
    }

    @Test(arguments: NftLoadTests.cases)
    func netlinkApplyListsLikeTheNftScript(_ testCase: NftLoadTests.Case) throws {
        guard NftLoadTests.requireLab() else { return }
        let flag = testCase.target.kind == .gateway ? "--gateway" : "--host"
        let site = Repository.example(testCase.example)
        let scratch = try ScratchDirectory("sitewall-nl")
        let directory = scratch.url
        let script = directory.appendingPathComponent("rules.nft").path
        try NftBackend.render(try Self.policy(testCase.example, testCase.target)).write(
            toFile: script, atomically: true, encoding: .utf8)
        let state = directory.appendingPathComponent("state").path
        let apply = Self.sitewall(["apply", site, flag, testCase.target.name, "--force", "--state-directory", state])
        let viaNetlink = try NetnsSandbox.run(
            """
            nft add table ip foreign; \
            nft add chain ip foreign keep '{ type filter hook input priority 10; policy accept; }'
            nft add rule ip foreign keep tcp dport 9 counter accept
            \(apply) > /dev/null
            nft -s list ruleset > \(directory.path)/first
            \(apply) > /dev/null
            nft -s list ruleset > \(directory.path)/second
            cmp \(directory.path)/first \(directory.path)/second
            nft -s list table inet sitewall
            echo '=====8<====='
            nft -s list table ip foreign
            """)
        try #require(viaNetlink.status == 0, "\(viaNetlink.stderr)")
        let viaNft = try NetnsSandbox.run("nft -f \(script)\nnft -s list table inet sitewall")
        try #require(viaNft.status == 0, "\(viaNft.stderr)")
        let parts = viaNetlink.stdout.components(separatedBy: "=====8<=====\n")
        #expect(parts[0] == viaNft.stdout)
        #expect(parts[1].contains("tcp dport 9 counter accept"))
    }

    @Test func aRefusedObjectLeavesThePreviousRulesetAndIsNamed() throws {
        guard NftLoadTests.requireLab() else { return }
        let namespace = try NamedNamespace()
        let good = try Self.policy("plant-scada", Target(kind: .host, name: "hmi-1"))
        let applier = NetlinkApplier(socket: try NetlinkSocket(namespace: namespace.path))
        _ = try applier.apply(good)
        let before = try namespace.run("nft -s list ruleset").stdout
        var bad = good
        var rule = Rule(verdict: .accept)
        rule.family = .ipv4
        rule.saddr = .set("no_such_set_v4")
        rule.transport = .tcp
        rule.dport = PortSet(2080)
        rule.comment = "the broken rule"
        bad.table.chains[0].rules.append(rule)
        #expect {
            _ = try applier.apply(bad)
        } throws: { error in
            guard let error = error as? NetlinkError else { return false }
            return error.refusals.count == 1 && error.refusals[0].errno == ENOENT
                && error.refusals[0].object.contains("chain input (the broken rule)")
        }
        #expect(try namespace.run("nft -s list ruleset").stdout == before)
    }

    @Test func aStaleGenerationIsRefusedAndApplyReplans() throws {
        guard NftLoadTests.requireLab() else { return }
        let namespace = try NamedNamespace()
        let socket = try NetlinkSocket(namespace: namespace.path)
        let policy = try Self.policy("megapower-video", Target(kind: .host, name: "mpcpu-1"))
        let stale = try socket.generation()
        try namespace.run("nft add table ip other")
        let batch = NetlinkBatch()
        batch.begin(generation: stale)
        try NetlinkEncoder.encode(policy, into: batch)
        batch.end()
        #expect {
            try batch.send(on: socket, operation: "apply")
        } throws: { error in
            (error as? NetlinkError)?.refusals.first.map { $0.errno == ERESTART && $0.object == "the transaction" }
                ?? false
        }
        #expect(try namespace.run("nft list tables").stdout == "table ip other\n")
        let result = try NetlinkApplier(socket: socket).apply(policy)
        #expect(result.generation > stale)
        #expect(try namespace.run("nft list tables").stdout.contains("table inet sitewall"))
    }

    @Test func tensOfThousandsOfSetElementsGoThrough() throws {
        guard NftLoadTests.requireLab() else { return }
        let namespace = try NamedNamespace()
        var policy = try Self.policy("megapower-video", Target(kind: .host, name: "mpcpu-1"))
        // Every other address: 60,000 ranges of one, each a start and an end in the kernel.
        let many = (0..<60_000).map { IPAddress(family: .ipv4, value: UInt128(0x0A00_0000 + 2 * $0)) }
        policy.table.sets.append(AddressSet(name: "big_v4", family: .ipv4, elements: many, comment: "60k addresses"))
        let result = try NetlinkApplier(socket: try NetlinkSocket(namespace: namespace.path)).apply(policy)
        #expect(result.counts.elements >= 120_000)
        #expect(result.bytes > 65_536 * 4)
        let count = try namespace.run("nft -j list set inet sitewall big_v4 | grep -o '\"10\\.' | wc -l").stdout
        #expect(Int(count.trimmingCharacters(in: .whitespacesAndNewlines)) == 60_000)
    }

    @Test func dryRunChangesNothing() throws {
        guard NftLoadTests.requireLab() else { return }
        let site = Repository.example("campus")
        let scratch = try ScratchDirectory("sitewall-dry")
        let result = try NetnsSandbox.run(
            """
            \(Self.sitewall([
                "apply", site, "--host", "hmi-1", "--dry-run", "--state-directory", scratch.file("state"),
            ]))
            echo "tables: $(nft list tables | wc -l)"
            """)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("dry run for host hmi-1 of site campus: nothing was changed"))
        #expect(result.stdout.contains("would apply: 1 table, 3 chains"))
        #expect(result.stdout.contains("tables: 0"))
        // The dry run says what would change, in the words of `sitewall diff`.
        #expect(result.stdout.contains("table inet sitewall is not loaded"), "\(result.stdout)")
    }

    /// A rule the netlink backend cannot encode is refused before anything changes, with its site line.
    @Test func applyRefusesWhatNetlinkCannotExpress() throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-unexpressible")
        try BackendCheckSite.text.write(toFile: scratch.file("site.yaml"), atomically: true, encoding: .utf8)
        let result = try NetnsSandbox.run(
            """
            \(Self.sitewall(["apply", scratch.file("site.yaml"), "--host", "plc", "--force",
                        "--state-directory", scratch.file("state")])) || echo "exit $?"
            echo "tables: $(nft list tables | wc -l)"
            """)
        #expect(result.stdout.contains("exit 1"), "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("tables: 0"))
        #expect(
            result.stderr.contains("site.yaml:5:3: the netlink backend cannot express a list of port ranges"),
            "\(result.stderr)")
        #expect(result.stderr.contains("nothing was changed"))
    }

    /// `apply --dry-run` on a gateway whose rules were changed by hand names the change as `diff` does.
    @Test func dryRunPrintsTheDiff() throws {
        guard NftLoadTests.requireLab() else { return }
        let site = Repository.example("campus")
        let scratch = try ScratchDirectory("sitewall-dry")
        let state = scratch.file("state")
        let result = try NetnsSandbox.run(
            """
            \(Self.sitewall(["apply", site, "--gateway", "gw-1", "--force", "--state-directory", state])) > /dev/null
            nft delete element inet sitewall modbus_client_supervisory_v4 '{ 10.10.2.10/31 }'
            nft add element inet sitewall modbus_client_supervisory_v4 '{ 10.10.2.11 }'
            \(Self.sitewall(["apply", site, "--gateway", "gw-1", "--force", "--dry-run", "--state-directory", state]))
            nft list set inet sitewall modbus_client_supervisory_v4 | grep -c 10.10.2.10 || echo "still missing"
            """)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains("- no longer: gw-1 forwards tcp/502 from scada-1 (10.10.2.10)"), "\(result.stdout)")
        #expect(result.stdout.contains("(missing from set modbus_client_supervisory_v4)"))
        #expect(result.stdout.contains("1 difference"))
        #expect(result.stdout.contains("still missing"))
    }

    @Test func lockoutGuardRefusesAndAllows() throws {
        guard NftLoadTests.requireLab() else { return }
        let site = Repository.example("campus")
        let scratch = try ScratchDirectory("sitewall-guard")
        let state = scratch.file("state")
        // hmi-1 may SSH to gw-1 (ssh/client -> ssh/server); hmi-2 may not.
        let allowed = try NetnsSandbox.run(
            """
            SSH_CONNECTION='10.10.2.50 50000 10.10.2.1 22' \
            \(Self.sitewall(["apply", site, "--gateway", "gw-1", "--state-directory", state]))
            nft list tables
            """)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("table inet sitewall"))
        let refused = try NetnsSandbox.run(
            """
            SSH_CONNECTION='10.10.2.51 50000 10.10.2.1 22' \
            \(Self.sitewall(["apply", site, "--gateway", "gw-1", "--state-directory", state])) || echo "exit $?"
            echo "tables: $(nft list tables | wc -l)"
            """)
        #expect(refused.stdout.contains("exit 1") && refused.stdout.contains("tables: 0"))
        #expect(refused.stderr.contains("refusing to apply: the new ruleset would cut the management path"))
        #expect(refused.stderr.contains("10.10.2.51 -> 10.10.2.1 tcp/22"))
        let forced = try NetnsSandbox.run(
            """
            SSH_CONNECTION='10.10.2.51 50000 10.10.2.1 22' \
            \(Self.sitewall(["apply", site, "--gateway", "gw-1", "--force", "--state-directory", state]))
            """)
        #expect(forced.status == 0 && forced.stdout.contains("warning (--force)"))
    }

    @Test func managementHostsAreGuarded() throws {
        let yaml = """
            site: t
            zones:
              a: { networks: [10.0.0.0/24] }
            hosts:
              eng: { address: 10.0.0.5, roles: [ssh/client] }
              ops: { address: 10.0.0.6, roles: [ssh/client] }
              gw: { address: 10.0.0.1, roles: [ssh/server], management: [eng, ops], \
            gateway: { interfaces: { a: eth0 } } }
            """
        let workspace = try SiteFixture.workspace(yaml)
        let target = Target(kind: .gateway, name: "gw")
        // A site whose management path cannot exist is refused when it loads (BrokenSiteTests); the
        // guard still checks the ruleset itself: here one whose SSH rule lets only eng in.
        var policy = workspace.policy(for: target)
        let ops = IPAddress("10.0.0.6")!
        for c in policy.table.chains.indices {
            for r in policy.table.chains[c].rules.indices {
                guard case .set(let name)? = policy.table.chains[c].rules[r].saddr,
                    let s = policy.table.sets.firstIndex(where: { $0.name == name })
                else { continue }
                policy.table.sets[s].elements.removeAll { $0 == ops }
            }
        }
        var session = ApplySession(workspace: workspace, target: target, policy: policy)
        session.sshConnection = nil
        let problems = session.lockoutProblems()
        #expect(problems.count == 1 && problems[0].contains("management host ops could not reach gw over SSH"))
        #expect(
            SiteFixture.errors(
                yaml.replacingOccurrences(of: "10.0.0.6, roles: [ssh/client]", with: "10.0.0.6, roles: []")
            )
            .contains { $0.message.contains("management host 'ops' of 'gw' has no SSH client role") })
        #expect(
            SiteFixture.errors(yaml.replacingOccurrences(of: "[eng, ops]", with: "[eng, opz]"))
                .contains { $0.message.contains("unknown management host 'opz'") && $0.fix == "did you mean 'ops'?" })
    }

    /// apply --confirm: unconfirmed -> the previous table comes back (also when apply's whole
    /// session is killed); confirmed -> the new one stays.
    @Test(arguments: ["unconfirmed", "killed", "confirmed"])
    func confirmOrRollBack(_ mode: String) throws {
        guard NftLoadTests.requireLab() else { return }
        let site = Repository.example("campus")
        let state = "/tmp/sitewall-confirm-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let first = Self.sitewall(["apply", site, "--host", "hmi-2", "--state-directory", state])
        let second = Self.sitewall(["apply", site, "--host", "scada-1", "--confirm", "2", "--state-directory", state])
        let confirm = Self.sitewall(["confirm", "--state-directory", state]).replacingOccurrences(
            of: " '--profiles' '\(Repository.profiles)'", with: "")
        let step: String
        switch mode {
        case "confirmed": step = "\(second) > /dev/null\n\(confirm)"
        case "killed":
            // The operator's session dies right after apply: its whole process group is killed.
            step =
                "setsid bash -c '\(second.replacingOccurrences(of: "'", with: "") ) > /dev/null; sleep 30' &\n"
                + "sleep 1\npkill -KILL -s $(ps -o sid= -p $! | tr -d ' ') || true"
        default: step = "\(second) > /dev/null"
        }
        let result = try NetnsSandbox.run(
            """
            \(first) > /dev/null
            nft -s list table inet sitewall > \(state).before
            \(step)
            nft -s list table inet sitewall > \(state).during
            sleep 3
            nft -s list table inet sitewall > \(state).after
            if cmp -s \(state).before \(state).during; then echo "during: old"; else echo "during: new"; fi
            if cmp -s \(state).before \(state).after; then echo "after: old"; else echo "after: new"; fi
            rm -f \(state).before \(state).during \(state).after
            """)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("during: new"), "\(result.stdout)")
        #expect(result.stdout.contains(mode == "confirmed" ? "after: new" : "after: old"), "\(result.stdout)")
        if mode == "confirmed" { #expect(result.stdout.contains("confirmed: the new ruleset stays")) }
    }

    @Test(arguments: Repository.exampleNames)
    func packetLabPassesWithRulesAppliedOverNetlink(_ example: String) throws {
        guard NftLoadTests.requireLab() else { return }
        var options = Verifier.Options()
        options.load = Verifier.Options.netlinkLoader
        let report = try Verifier.run(
            try Workspace.load(site: Repository.example(example), profiles: Repository.profiles), options: options)
        #expect(report.failed == 0, "\(report.text(onlyFailures: true))")
        if example == "megapower-video" {
            // The ct helper object and objref statements work when applied over netlink too.
            #expect(report.results.filter { $0.probe.helper == .tftp }.count >= 2)
        }
        #expect(Lab.existingNamespaces(prefix: report.labPrefix + "-").isEmpty)
    }

    @Test func twoAppliesDoNotInterleave() throws {
        guard NftLoadTests.requireLab() else { return }
        let state = "/tmp/sitewall-lock-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let apply = Self.sitewall([
            "apply", Repository.example("campus"), "--host", "hmi-1", "--state-directory", state,
        ])
        let result = try NetnsSandbox.run(
            """
            dir=\(state)/netns-$(stat -L -c %i /proc/self/ns/net)
            mkdir -p $dir
            flock $dir/apply.lock sleep 2 &
            sleep 0.3
            \(apply) || echo "second apply: exit $?"
            wait
            \(apply) > /dev/null && echo "after: applied"
            """)
        #expect(result.stdout.contains("second apply: exit 1"), "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("another sitewall apply is running in this network namespace"))
        #expect(result.stdout.contains("after: applied"))
    }

    @Test func persistWritesTheEquivalentScript() throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-persist")
        let file = scratch.file("sitewall.nft")
        let site = Repository.example("megapower-video")
        let result = try NetnsSandbox.run(
            """
            \(Self.sitewall([
                "apply", site, "--host", "mpcpu-1", "--persist", file, "--state-directory",
                scratch.file("state"),
            ]))
            nft -s list table inet sitewall > \(file).applied
            nft flush ruleset
            nft -f \(file)
            nft -s list table inet sitewall | cmp - \(file).applied
            rm \(file).applied
            """)
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Debian's /etc/nftables.conf (flush ruleset, its own inet filter table) with the include line
    /// the README gives loads the persisted table beside its own, and loads again unchanged.
    @Test func persistedScriptLoadsFromDebiansNftablesConf() throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-persist")
        let file = scratch.file("sitewall.nft")
        let conf = scratch.file("nftables.conf")
        try """
        #!/usr/sbin/nft -f

        flush ruleset

        table inet filter {
        \tchain input {
        \t\ttype filter hook input priority filter;
        \t}
        \tchain forward {
        \t\ttype filter hook forward priority filter;
        \t}
        \tchain output {
        \t\ttype filter hook output priority filter;
        \t}
        }
        include "\(file)"

        """.write(toFile: conf, atomically: true, encoding: .utf8)
        let result = try NetnsSandbox.run(
            """
            \(Self.sitewall([
                "apply", Repository.example("campus"), "--gateway", "gw-1", "--force", "--persist", file,
                "--state-directory", scratch.file("state"),
            ])) > /dev/null
            nft -s list table inet sitewall > \(file).applied
            nft flush ruleset
            nft -f \(conf) && nft -f \(conf)
            nft list tables
            nft -s list table inet sitewall | cmp - \(file).applied && echo "same table"
            """)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("table inet filter\ntable inet sitewall\n"), "\(result.stdout)")
        #expect(result.stdout.contains("same table"))
    }
}

import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// `sitewall diff` against rules changed by hand with nft, live and from a saved dump.
@Suite(.serialized, .kernel) struct DiffTests {
    static func sitewall(_ arguments: [String]) -> String {
        ([Repository.executable] + arguments + ["--profiles", Repository.profiles]).map { "'\($0)'" }.joined(
            separator: " ")
    }

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var change: String
        var expect: [String]
        /// What offline (from `nft -j`) says, when it cannot say the same.
        var offline: [String]? = nil
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "add a rule", change: "nft add rule inet sitewall input tcp dport 9 accept",
            expect: ["+ also: gw-1 accepts tcp/9 from anywhere (extra rule)"]),
        Case(
            name: "delete a rule",
            change:
                "nft delete rule inet sitewall forward handle "
                + "$(nft -a list chain inet sitewall forward | grep 'dport 20222' | sed 's/.*handle //')",
            expect: [
                "plant-scada/odbc  [aveva-server-processes row 20222",
                "- no longer: gw-1 forwards tcp/20222 from bi-1 (set plant_scada_odbc_client_enterprise_v4) "
                    + "to odbc-1 (set plant_scada_odbc_server_supervisory_v4) (in eth0, out eth1) (rule missing)",
            ]),
        Case(
            name: "add a set element",
            change: "nft add element inet sitewall ntp_server_supervisory_v4 '{ 10.10.2.99 }'",
            expect: [
                "+ also: gw-1 forwards udp/123 from pac-1 (set ntp_client_control_v4) to 10.10.2.99 (not in the site) "
                    + "(in eth2, out eth1) (extra in set ntp_server_supervisory_v4)"
            ]),
        Case(
            name: "remove a set element",
            // (scada-1 and scada-2 are one range, 10.10.2.10/31: take it, put scada-2 back)
            change: "nft delete element inet sitewall modbus_client_supervisory_v4 '{ 10.10.2.10/31 }'; "
                + "nft add element inet sitewall modbus_client_supervisory_v4 '{ 10.10.2.11 }'",
            expect: [
                "- no longer: gw-1 forwards tcp/502 from scada-1 (10.10.2.10) to",
                "(missing from set modbus_client_supervisory_v4)",
            ]),
        Case(
            name: "change a chain policy", change: "nft chain inet sitewall forward '{ policy accept; }'",
            expect: ["- chain forward: policy is accept, the site says drop"]),
        Case(
            name: "flush the table", change: "nft flush table inet sitewall",
            expect: ["- no longer: input: iif \"lo\" accept", "(rule missing)"]),
        Case(
            name: "delete the table", change: "nft delete table inet sitewall",
            expect: ["- table inet sitewall is not loaded: nothing the site compiles to is enforced on gw-1"]),
        Case(
            name: "make the table dormant", change: "nft add table inet sitewall '{ flags dormant; }'",
            expect: ["table inet sitewall is dormant (flags dormant): none of its rules filter anything"],
            offline: ["table inet sitewall has flags that nft wrote as"]),
        Case(
            name: "widen an interface to a wildcard",
            change: Self.replaceRule(
                chain: "forward", matching: #"iifname "eth1" oifname "eth2" ip saddr @modbus_client_supervisory_v4"#,
                sed: #"s/iifname "eth1"/iifname "eth1*"/"#),
            expect: ["eth1*", "(extra rule)"]),
        Case(
            name: "a raw payload match in place of an address",
            change: Self.replaceRule(
                chain: "input", matching: "ip daddr 10.10.2.1 tcp dport 22",
                sed: "s/ip daddr 10.10.2.1/@nh,192,32 0x0a0a0201/"),
            expect: ["a rule sitewall does not write in chain input", "(extra rule)"]),
        Case(
            name: "a range added to a set",
            change: Self.reloadTable(
                sed:
                    #"/set modbus_client_supervisory_v4 {/,/}/ "#
                    + #"s/elements = {/elements = { 10.10.2.200-10.10.2.210, /"#
            ),
            expect: ["10.10.2.200", "10.10.2.210"]),
        Case(
            name: "a range wider than any set sitewall writes",
            change: Self.reloadTable(
                sed: #"/set modbus_client_supervisory_v4 {/,/}/ s/elements = {/elements = { 20.0.0.0\/8, /"#),
            expect: ["set modbus_client_supervisory_v4 (elements that are not address ranges sitewall writes"]),
        Case(
            name: "elements with a timeout",
            change: Self.reloadTable(
                sed: #"/set ntp_server_supervisory_v4 {/,/}/ s/flags interval/flags interval,timeout/"#)
                + "; nft add element inet sitewall ntp_server_supervisory_v4 '{ 10.10.2.99 timeout 1h }'",
            expect: ["set ntp_server_supervisory_v4 (flags ", "timeout, which sitewall never sets)"]),
        Case(
            name: "an inverted set lookup",
            change: Self.replaceRule(
                chain: "forward", matching: #"iifname "eth1" oifname "eth2" ip saddr @modbus_client_supervisory_v4"#,
                sed: "s/ip saddr @/ip saddr != @/"),
            expect: [
                "a rule sitewall does not write in chain forward", "ip saddr != @modbus_client_supervisory_v4",
                "(extra rule)",
            ]),
        Case(
            name: "an interval in an anonymous port set",
            // (added, not replaced: nft 1.0.6 aborts replacing a rule with an interval set)
            change: "nft add rule inet sitewall input ip daddr 10.10.2.1 tcp dport '{ 22, 1000-2000 }' accept",
            expect: ["a rule sitewall does not write in chain input", "(extra rule)"]),
        Case(
            name: "a prefix element in a set",
            change: Self.reloadTable(
                sed: #"/set modbus_client_supervisory_v4 {/,/}/ s/elements = {/elements = { 10.1.0.20\/30, /"#),
            expect: ["10.1.0.21"]),
        Case(
            name: "a rule sitewall does not write", change: "nft add rule inet sitewall output counter",
            expect: [
                "+ also: a rule sitewall does not write in chain output: counter packets 0 bytes 0 (extra rule)"
            ]),
    ]

    /// Replaces the first rule of `chain` that contains `matching` with itself edited by `sed`.
    static func replaceRule(chain: String, matching: String, sed: String) -> String {
        "line=$(nft -a list chain inet sitewall \(chain) | grep -F '\(matching)' | head -1); "
            + "nft \"replace rule inet sitewall \(chain) handle ${line##*handle } "
            + "$(echo \"$line\" | sed 's/ # handle.*//; \(sed)')\""
    }

    /// Loads sitewall's table again as listed, edited by `sed`.
    static func reloadTable(sed: String) -> String {
        "f=$(mktemp); nft list table inet sitewall | sed '\(sed)' > $f; "
            + "nft delete table inet sitewall; nft -f $f; rm $f"
    }

    @Test(arguments: cases)
    func handChangesAreReportedLiveAndOffline(_ testCase: Case) throws {
        guard NftLoadTests.requireLab() else { return }
        let site = Repository.example("campus")
        let state = "/tmp/sitewall-diff-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let apply = Self.sitewall(["apply", site, "--gateway", "gw-1", "--force", "--state-directory", state])
        let diff = Self.sitewall(["diff", site, "--gateway", "gw-1"])
        let result = try NetnsSandbox.run(
            """
            \(apply) > /dev/null
            \(diff) && echo "clean: exit 0"
            \(testCase.change)
            rc=0; \(diff) > \(state).live || rc=$?; echo "changed: exit $rc"
            nft -j list ruleset > \(state).json
            rc=0; \(diff) --running \(state).json > \(state).offline || rc=$?; echo "offline: exit $rc"
            \(diff) --format json > \(state).live.json || true
            \(diff) --format json --running \(state).json > \(state).offline.json || true
            cat \(state).live
            echo '=====8<====='
            cat \(state).offline
            echo '=====8<====='
            cat \(state).live.json
            echo '=====8<====='
            cat \(state).offline.json
            echo '=====8<====='
            \(apply) > /dev/null
            \(diff) > /dev/null && echo "reapplied: exit 0"
            rm -f \(state).live \(state).offline \(state).json \(state).live.json \(state).offline.json
            """)
        #expect(result.stdout.contains("clean: exit 0"), "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("changed: exit 1"))
        #expect(result.stdout.contains("offline: exit 1"))
        #expect(result.stdout.contains("reapplied: exit 0"))
        let parts = result.stdout.components(separatedBy: "=====8<=====\n")
        try #require(parts.count == 5)
        // Live and offline say it alike: foreign rules in nft syntax both ways (libnftables live, nft -j offline).
        for expected in testCase.expect {
            #expect(parts[0].contains(expected), "missing '\(expected)' live in:\n\(parts[0])")
        }
        for expected in testCase.offline ?? testCase.expect {
            #expect(parts[1].contains(expected), "missing '\(expected)' offline in:\n\(parts[1])")
        }
        // Offline from a saved dump finds the same changes.
        func summary(_ json: String) throws -> [String] {
            let document = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            return (document?["changes"] as? [[String: Any]] ?? []).map {
                [
                    $0["kind"], $0["sign"], $0["chain"], $0["set"], $0["service"],
                    ($0["addresses"] as? [String])?.joined(separator: ","),
                ]
                .map { "\($0 ?? "-")" }.joined(separator: "|")
            }
        }
        #expect(try summary(parts[2]) == summary(parts[3]))
        #expect(!(try summary(parts[2])).isEmpty)
    }

    /// `nft -j list ruleset` with the site's gw-1 rules applied, as an operator would save it.
    static func savedDump(site: String, scratch: ScratchDirectory) throws -> String {
        let dump = try NetnsSandbox.run(
            """
            \(sitewall([
                "apply", site, "--gateway", "gw-1", "--force", "--state-directory", scratch.file("state"),
            ])) > /dev/null
            nft -j list ruleset
            """)
        try #require(dump.status == 0, "\(dump.stderr)")
        return dump.stdout
    }

    /// A dump that names one set twice is reported, not a crash.
    @Test func aDumpWithTwoSetsOfOneNameIsReported() throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-dup")
        let site = Repository.example("campus")
        let dump = try Self.savedDump(site: site, scratch: scratch)
        var document = try #require(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])
        var items = try #require(document["nftables"] as? [[String: Any]])
        let set = try #require(items.first { $0["set"] != nil })
        items.append(set)
        document["nftables"] = items
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: scratch.file("dup.json")))
        let result = try Run.program(
            Repository.executable,
            [
                "diff", site, "--gateway", "gw-1", "--profiles", Repository.profiles,
                "--running", scratch.file("dup.json"),
            ])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("appears 2 times in the running rules"), "\(result.stdout)")
    }

    /// Another table that can drop, reject, NAT or untrack the traffic sitewall filters is a difference
    /// (exit 1, live and offline) unless --own-table; its hook is named for its family.
    @Test(arguments: [
        (
            "input drop",
            "nft add table ip filter; "
                + "nft add chain ip filter INPUT '{ type filter hook input priority 0; policy accept; }'; "
                + "nft add rule ip filter INPUT tcp dport 22 drop",
            "table ip filter chain INPUT (hook input, priority 0) sees the traffic sitewall filters and can drop it"
        ),
        (
            "prerouting notrack",
            "nft add table ip raw; nft add chain ip raw PRE '{ type filter hook prerouting priority -300; }'; "
                + "nft add rule ip raw PRE notrack",
            "chain PRE (hook prerouting, priority -300) sees the traffic sitewall filters and can notrack it"
        ),
        (
            "dnat",
            "nft add table ip nat; nft add chain ip nat PRE '{ type nat hook prerouting priority -100; }'; "
                + "nft add rule ip nat PRE tcp dport 80 dnat to 10.10.2.9", "can nat it"
        ),
        (
            "netdev ingress drop",
            "ip link add d0 type veth peer name d1; nft add table netdev edge; "
                + "nft add chain netdev edge in '{ type filter hook ingress device d0 priority 0; policy drop; }'",
            "table netdev edge chain in (hook ingress, priority 0) "
                + "sees the traffic sitewall filters and can policy drop it"
        ),
        (
            "netdev egress",
            "ip link add d0 type veth peer name d1; nft add table netdev edge; "
                + "nft add chain netdev edge out '{ type filter hook egress device d0 priority 0; }'; "
                + "nft add rule netdev edge out drop",
            "table netdev edge chain out (hook egress, priority 0)"
        ),
    ])
    func otherTablesThatCanDropAreDifferences(_ name: String, _ change: String, _ expected: String) throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-other")
        let site = Repository.example("campus")
        let diff = Self.sitewall(["diff", site, "--gateway", "gw-1"])
        let result = try NetnsSandbox.run(
            """
            \(Self.sitewall([
                "apply", site, "--gateway", "gw-1", "--force", "--state-directory", scratch.file("state"),
            ])) > /dev/null
            \(change)
            rc=0; \(diff) || rc=$?; echo "live: exit $rc"
            \(diff) --own-table > /dev/null && echo "own table: exit 0"
            nft -j list ruleset > \(scratch.file("dump.json"))
            rc=0; \(diff) --running \(scratch.file("dump.json")) || rc=$?; echo "offline: exit $rc"
            """)
        #expect(result.stdout.contains("live: exit 1"), "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("own table: exit 0"), "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("offline: exit 1"), "\(result.stdout)\(result.stderr)")
        #expect(
            result.stdout.components(separatedBy: expected).count == 3, "live and offline name it: \(result.stdout)")
        #expect(!result.stdout.contains("hook input") || name == "input drop", "\(result.stdout)")
    }

    /// A priority no integer can hold is reported, not read as 0.
    @Test func anUnreadablePriorityInADumpIsReported() throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-prio")
        let site = Repository.example("campus")
        let dump = try Self.savedDump(site: site, scratch: scratch)
        let edited = dump.replacingOccurrences(
            of: #""hook": "input", "prio": 0"#, with: #""hook": "input", "prio": 1e26"#)
        try #require(edited != dump)
        try edited.write(toFile: scratch.file("prio.json"), atomically: true, encoding: .utf8)
        let result = try Run.program(
            Repository.executable,
            [
                "diff", site, "--gateway", "gw-1", "--profiles", Repository.profiles,
                "--running", scratch.file("prio.json"),
            ])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("which is no chain priority sitewall can read"), "\(result.stdout)")
    }

    /// Reading the ruleset while another program commits: an interrupted dump (NLM_F_DUMP_INTR) is read
    /// again, never reported as a failure or as a difference.
    @Test func diffReadsThroughRulesetChurn() throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-churn")
        let site = Repository.example("campus")
        let result = try NetnsSandbox.run(
            """
            \(Self.sitewall([
                "apply", site, "--gateway", "gw-1", "--force", "--state-directory", scratch.file("state"),
            ])) > /dev/null
            nft add table ip churn; nft add chain ip churn c
            ( for i in $(seq 1 3000); do [ -e \(scratch.file("stop")) ] && break; \
            nft add rule ip churn c counter; nft flush chain ip churn c; done ) &
            ok=0; for i in $(seq 1 25); do \(Self.sitewall(["diff", site, "--gateway", "gw-1"])) > /dev/null \
            && ok=$((ok + 1)); done
            touch \(scratch.file("stop")); wait
            echo "clean diffs: $ok of 25"
            """)
        #expect(result.stdout.contains("clean diffs: 25 of 25"), "\(result.stdout)\(result.stderr)")
        #expect(!result.stderr.contains("Interrupted system call"), "\(result.stderr)")
    }

    @Test func otherTablesOnTheSameHooksAreWarnedAbout() throws {
        guard NftLoadTests.requireLab() else { return }
        let site = Repository.example("campus")
        let scratch = try ScratchDirectory("sitewall-w")
        let result = try NetnsSandbox.run(
            """
            \(Self.sitewall([
                "apply", site, "--gateway", "gw-1", "--force", "--state-directory", scratch.file("state"),
            ])) > /dev/null
            nft add table ip filter
            nft add chain ip filter FORWARD '{ type filter hook forward priority -10; policy accept; }'
            rc=0; \(Self.sitewall(["diff", site, "--gateway", "gw-1"])) 2>&1 >/dev/null || rc=$?; echo "exit $rc"
            """)
        // The warning goes to stderr (stdout is the diff itself).
        #expect(
            result.stdout.contains(
                "sitewall: warning: table ip filter also hooks forward (chain FORWARD, priority -10, policy accept), "
                    + "running before sitewall's chain"
            ))
        #expect(result.stdout.contains("exit 0"))
    }
}

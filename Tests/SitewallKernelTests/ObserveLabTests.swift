import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 16, part 2: counters and drop logging in the kernel. verify's traffic shows in `stats` on the
/// gateway (hits on the flows it exercised, none on the flows it did not, drops per zone pair); counters
/// keep counting across applies unless reset; diff ignores their values; a drop reaches the NFLOG group.
@Suite(.serialized, .kernel) struct ObserveLabTests {
    static let observing = "\nobserve:\n  counters: true\n  log_drops: { rate: 60/minute, prefix: swtest, group: 7 }\n"

    static func campusObserving(_ scratch: ScratchDirectory) throws -> String {
        let site = scratch.file("campus-observe.yaml")
        let text = try String(contentsOfFile: Repository.example("campus"), encoding: .utf8) + observing
        try text.write(toFile: site, atomically: true, encoding: .utf8)
        return site
    }

    @Test func verifyTrafficShowsInStatsOnTheGateway() throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-observe")
        let site = try Self.campusObserving(scratch)
        let workspace = try Workspace.load(site: site, profiles: Repository.profiles)
        let gateway = Target(kind: .gateway, name: "gw-1")
        let policy = workspace.policy(for: gateway)
        var stats: FlowStats?
        var cli: ProcessResult?
        var options = Verifier.Options()
        options.afterProbes = { lab in
            // verify's refused probes stop at their sender's own rules; a rule-free station of the
            // building zone tries pac-1's discard port, which only gw-1's forward chain refuses.
            let station = try #require(lab.plan.node(for: LabPlan.probeHost("building")))
            try lab.exec(
                station.namespace,
                "python3 -c \"import socket; s = socket.socket(); s.settimeout(0.5); s.connect_ex(('10.10.1.20', 9))\"")
            let path = try #require(lab.namespacePath(of: "gw-1"))
            let state = try NetlinkReadback.read(
                socket: NetlinkSocket(namespace: path), target: gateway, site: "campus")
            stats = try FlowStats(expected: policy, running: state)
            cli = try Run.program(
                "/usr/bin/nsenter",
                [
                    "--net=\(path)", Repository.executable, "stats", site, "--gateway", "gw-1", "--profiles",
                    Repository.profiles,
                ])
        }
        let report = try Verifier.run(workspace, options: options)
        #expect(report.failed == 0, "\(report.failures.map(\.probe.label))")
        let counted = try #require(stats)
        // Which forward rule of gw-1 each accepted probe meets, by the same evaluator explain uses.
        let evaluator = PolicyEvaluator(policy: policy)
        let host = try #require(workspace.resolved.host(named: "gw-1"))
        var exercised = Set<String>()
        for probe in try ProbePlanner(site: workspace.resolved, flows: workspace.flows).plan()
        where probe.expected == .accept && probe.enforcement.contains("gw-1") && probe.transport != .icmp {
            let from = workspace.resolved.hosts.first { $0.addresses.contains { $0.address == probe.fromAddress } }
            let to = workspace.resolved.hosts.first { $0.addresses.contains { $0.address == probe.toAddress } }
            let fromZone = from?.addresses.first { $0.address == probe.fromAddress }?.zone
            let toZone = to?.addresses.first { $0.address == probe.toAddress }?.zone
            let packet = PolicyEvaluator.Packet(
                source: probe.fromAddress, destination: probe.toAddress, transport: probe.transport,
                sourcePort: probe.sport ?? 40000, destinationPort: probe.dport,
                inInterface: fromZone.flatMap { host.interfaces?[$0] },
                outInterface: toZone.flatMap { host.interfaces?[$0] })
            if let counter = evaluator.decision(packet, chain: "forward").rule?.counter { exercised.insert(counter) }
        }
        let forward = counted.flows.filter { $0.chain == "forward" && $0.service != "icmp/echo" }
        try #require(!exercised.isEmpty)
        for flow in forward where exercised.contains(flow.counter) {
            #expect((flow.packets ?? 0) > 0, "no hits on \(flow.rule)")
        }
        // Flows verify sent nothing to (only other families or ICMP) stay at zero: counters count what passed.
        #expect(counted.flows.allSatisfy { $0.packets != nil }, "every counter is in the running table")
        // A flow verify's probes never reach (the answer of a relayed DHCP server) stays at zero.
        #expect(!counted.unused.isEmpty)
        #expect(counted.unused.allSatisfy { !exercised.contains($0.counter) })
        #expect(counted.drops.first { $0.path == "building -> control" }?.packets == 1, "\(counted.drops)")
        #expect(counted.drops.first { $0.path == "input" }.map { ($0.packets ?? 0) > 0 } == true)
        #expect(counted.unknown.isEmpty)
        let output = try #require(cli)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.hasPrefix("gateway gw-1 of site campus: \(counted.flows.count) counted flow rules"))
        #expect(output.stdout.contains("   packets      bytes  dropped"))
    }

    @Test func countersKeepCountingAcrossAppliesAndDropsReachNFLOG() throws {
        let lab = try ApplyLab()
        let site = try Self.campusObserving(lab.scratch)
        let result = try lab.run(
            """
            SITE='\(site)'
            ip link set lo up; ip link add v0 type veth peer name v1
            ip addr add 10.10.2.50/24 dev v0; ip link set v0 up; ip link set v1 up; ip route add 10.10.1.0/24 dev v0
            sysctl -qw net.ipv6.conf.all.disable_ipv6=1
            sw apply "$SITE" --host hmi-1 --force > /dev/null
            (timeout -s KILL 10 tcpdump -i nflog:7 -c 1 -w "$T/nflog.pcap" > /dev/null 2>&1 &)
            for i in $(seq 50); do [ -e "$T/nflog.pcap" ] && break; sleep 0.1; done; sleep 0.3
            # hmi-1 may open PAC Control's host port on pac-1; the discard port it may not.
            timeout -s KILL 1 bash -c 'echo > /dev/tcp/10.10.1.20/22001' 2> /dev/null || true
            timeout -s KILL 1 bash -c 'echo > /dev/tcp/10.10.1.20/9' 2> /dev/null || true
            for i in $(seq 50); do [ -s "$T/nflog.pcap" ] && ! pgrep -x tcpdump > /dev/null && break; sleep 0.1; done
            st() { "$B" stats "$@" --profiles "$P"; }
            st "$SITE" --host hmi-1 --format json > "$T/first.json"
            rc=0; "$B" diff "$SITE" --host hmi-1 --profiles "$P" > /dev/null || rc=$?; echo "diff: exit $rc"
            sw apply "$SITE" --host hmi-1 --force > /dev/null
            st "$SITE" --host hmi-1 --format json > "$T/reapplied.json"
            sw apply "$SITE" --host hmi-1 --force --reset-counters > /dev/null
            st "$SITE" --host hmi-1 --format json > "$T/reset.json"
            rc=0; st "$E/campus.yaml" --host hmi-1 2> "$T/plain.err" || rc=$?; echo "no counters: exit $rc"
            grep -a -c 'swtest drop output: ' "$T/nflog.pcap" || true
            """)
        #expect(result.stdout.contains("diff: exit 0"), "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("no counters: exit 1"))
        let decode = { (name: String) throws -> FlowStats in
            try JSONDecoder().decode(
                FlowStats.self, from: Data(contentsOf: URL(fileURLWithPath: lab.scratch.file(name))))
        }
        let hits = { (stats: FlowStats) -> UInt64 in
            stats.flows.first { $0.service == "opto22/pac-control-host" && $0.rule.contains("ip daddr") }?.packets ?? 0
        }
        let drops = { (stats: FlowStats) -> UInt64 in stats.drops.first { $0.path == "output" }?.packets ?? 0 }
        let first = try decode("first.json")
        #expect(hits(first) == 1, "\(first.used.map(\.rule))")
        #expect(drops(first) >= 1)
        #expect(first.used.count == 1)
        let reapplied = try decode("reapplied.json")
        #expect(hits(reapplied) == hits(first) && drops(reapplied) >= drops(first))
        let reset = try decode("reset.json")
        #expect(hits(reset) == 0 && reset.used.isEmpty)
        let plain = try String(contentsOfFile: lab.scratch.file("plain.err"), encoding: .utf8)
        #expect(plain.contains("observe: { counters: true }"))
        // The NFLOG message carries the prefix the site set for the output chain.
        #expect(
            result.stdout.split(separator: "\n").last.flatMap { Int($0) }.map { $0 >= 1 } == true, "\(result.stdout)")
    }
}

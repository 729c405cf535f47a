import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 12, 10: ICMP echo is opened only where a site opts in, at a limited rate, with every
/// loader; ICMP errors about tracked connections (IPv6 packet-too-big) pass as related.
@Suite(.serialized, .kernel) struct ICMPLabTests {
    static let pingSite = """
        site: ping
        zones:
          a: { networks: [10.0.0.0/24, "2001:db8::/64"] }
          b: { networks: [10.0.1.0/24] }
        hosts:
          eng: { addresses: [10.0.0.5, "2001:db8::5"], roles: [icmp/pinger, modbus/client] }
          plc: { addresses: [10.0.1.7], roles: [icmp/responder, modbus/server] }
          hmi: { addresses: [10.0.0.8, "2001:db8::8"], roles: [icmp/responder] }
          quiet: { addresses: [10.0.0.9, "2001:db8::9"], roles: [modbus/server] }
          gw:
            addresses: [10.0.0.1, "2001:db8::1", 10.0.1.1]
            roles: [icmp/responder]
            gateway: { interfaces: { a: eth0, b: eth1 } }
        conduits:
          - { from: a, to: b, services: [icmp, modbus] }
        """

    static func loaders() -> [(String, (Lab, Target, Policy) throws -> Void)] {
        [
            ("nft", Verifier.Options().load), ("netlink", Verifier.Options.netlinkLoader),
            ("iptables", Verifier.Options.iptablesLoader),
        ]
    }

    @Test func pingIsOpenWhereTheSiteSaysAndClosedElsewhere() throws {
        guard NftLoadTests.requireLab() else { return }
        let workspace = try SiteFixture.workspace(Self.pingSite)
        for (name, load) in Self.loaders() {
            var options = Verifier.Options()
            options.load = load
            let report = try Verifier.run(workspace, options: options)
            #expect(report.failed == 0, "\(name):\n\(report.text(onlyFailures: true))")
            #expect(report.unprobed.isEmpty, "\(name): \(report.unprobed)")
            let echo = report.results.filter { $0.probe.transport == .icmp }
            let opened = echo.filter { $0.probe.expected == .accept && $0.observed == .passed }
            // eng pings hmi (both families), gw (both) and, through gw, plc.
            #expect(opened.count >= 5, "\(name): \(opened.map(\.probe.label))")
            #expect(opened.contains { $0.probe.to == "plc" && $0.probe.enforcement.contains("forward") })
            // quiet and eng answer no ping: their probes are expected closed and were dropped.
            for host in ["quiet", "eng"] {
                #expect(
                    echo.contains { $0.probe.to == host && $0.probe.expected == .drop && $0.observed == .dropped },
                    "\(name): \(host)")
            }
            // hmi may be pinged, but does not ping: its echo to eng is the reverse direction, closed.
            #expect(echo.contains { $0.probe.reason == "reverse direction" && $0.observed == .dropped })
        }
    }

    /// Echo requests with distinct identifiers are new to conntrack: past the bucket (burst 5, then
    /// 10 a second) the rule stops matching and the input policy drops them.
    @Test func theRateLimitHoldsInTheKernel() throws {
        guard NftLoadTests.requireLab() else { return }
        let workspace = try SiteFixture.workspace(Self.pingSite)
        let lab = Lab(site: workspace.resolved)
        defer { lab.tearDown() }
        try lab.build()
        for target in workspace.compiler.targets {
            try lab.load(nft: NftBackend.render(workspace.policy(for: target)), into: target.name)
        }
        let script = #"""
            import socket, time
            answered = 0
            socks = []
            for i in range(40):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
                s.setblocking(False)
                s.sendto(b"\x08\x00\x00\x00\x00\x00\x00\x01swp", ("10.0.0.8", 0))
                socks.append(s)
            time.sleep(1)
            for s in socks:
                try:
                    s.recv(64)
                    answered += 1
                except BlockingIOError:
                    pass
            print("answered", answered)
            """#
        let namespace = try #require(lab.plan.node(for: "eng")?.namespace)
        let result = try Subprocess.run(
            "/usr/sbin/ip", ["netns", "exec", namespace, "python3", "-c", script])
        let count = result.stdout.split(separator: " ").last ?? ""
        let answered = Int(count.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(answered.map { $0 >= 5 && $0 <= 12 } ?? false, "\(result.stdout)\(result.stderr)")
    }

    static let ptbSite = """
        site: ptb
        zones:
          a: { networks: ["2001:db8:a::/64"] }
          b: { networks: ["2001:db8:b::/64"] }
        hosts:
          nms: { address: "2001:db8:a::5", roles: [snmp/manager] }
          dev: { address: "2001:db8:b::7", roles: [snmp/agent] }
          gw: { addresses: ["2001:db8:a::1", "2001:db8:b::1"], gateway: { interfaces: { a: eth0, b: eth1 } } }
        conduits:
          - { from: a, to: b, services: [snmp/agent] }
        """

    /// The PMTU nms has learnt for dev after a 1400-byte SNMP datagram crosses a gateway whose link
    /// to dev carries 1280: "1280" only if the gateway's packet-too-big reached nms.
    static func learntMTU(relatedAccepted: Bool) throws -> String {
        let workspace = try SiteFixture.workspace(ptbSite)
        let lab = Lab(site: workspace.resolved)
        defer { lab.tearDown() }
        try lab.build()
        for target in workspace.compiler.targets {
            var policy = workspace.policy(for: target)
            if !relatedAccepted && target.name == "nms" {
                for c in policy.table.chains.indices {
                    for r in policy.table.chains[c].rules.indices
                    where policy.table.chains[c].rules[r].ctState?.contains(.related) ?? false {
                        policy.table.chains[c].rules[r].ctState = [.established]
                    }
                }
            }
            try lab.load(nft: NftBackend.render(policy), into: target.name)
        }
        let gw = try #require(lab.plan.node(for: "gw")?.namespace)
        let nms = try #require(lab.plan.node(for: "nms")?.namespace)
        try lab.exec(gw, "ip link set eth1 mtu 1280")
        let send = #"""
            import socket
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.connect(("2001:db8:b::7", 161))
            for _ in range(3):
                try:
                    s.send(b"x" * 1400)
                except OSError:
                    pass
            """#
        _ = try Subprocess.run("/usr/sbin/ip", ["netns", "exec", nms, "python3", "-c", send])
        Thread.sleep(forTimeInterval: 0.5)
        let route = try Subprocess.run(
            "/usr/sbin/ip", ["netns", "exec", nms, "ip", "-6", "route", "get", "2001:db8:b::7"])
        return route.stdout
    }

    @Test func packetTooBigOfATrackedFlowPassesAsRelated() throws {
        guard NftLoadTests.requireLab() else { return }
        let learnt = try Self.learntMTU(relatedAccepted: true)
        #expect(learnt.contains("mtu 1280"), "\(learnt)")
        // The control: without 'related' in the accept, the same packet-too-big is dropped.
        let control = try Self.learntMTU(relatedAccepted: false)
        #expect(!control.contains("mtu 1280"), "\(control)")
    }
}

/// A host's own MLD reports leave it (RFC 4890 4.4.1): a switch that snoops MLD forwards neighbour
/// solicitations for the host's solicited-node group only after the host reported it. Found in the NFLOG
/// capture of the observe lab: the output chain dropped them. With nft and with ip6tables.
@Suite(.serialized, .kernel) struct ListenerDiscoveryLabTests {
    @Test(arguments: ["nft", "iptables"])
    func aHostReportsTheGroupsItListensTo(_ loader: String) throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-mld")
        let workspace = try Workspace.load(site: Repository.example("campus"), profiles: Repository.profiles)
        let policy = workspace.policy(for: Target(kind: .host, name: "plc-1"))
        let load: String
        if loader == "nft" {
            try NftBackend.render(policy).write(toFile: scratch.file("rules.nft"), atomically: true, encoding: .utf8)
            load = "nft -f '\(scratch.file("rules.nft"))'"
        } else {
            try IptablesBackend.render(policy, family: .ipv6).write(
                toFile: scratch.file("rules.v6"), atomically: true, encoding: .utf8)
            load = "ip6tables-restore '\(scratch.file("rules.v6"))'"
        }
        // va is plc-1's link; vb, its peer, stands for the switch and captures what plc-1 sends.
        let result = try NetnsSandbox.run(
            """
            ip link set lo up
            ip link add va type veth peer name vb
            sysctl -qw net.ipv6.conf.va.accept_dad=0 net.ipv6.conf.vb.accept_dad=0
            \(load)
            ip link set vb up
            (timeout -s KILL 8 tcpdump -i vb -nn -c 1 -w '\(scratch.file("mld.pcap"))' 'ip6 dst ff02::16' \
                > /dev/null 2>&1 &)
            for i in $(seq 50); do [ -e '\(scratch.file("mld.pcap"))' ] && break; sleep 0.1; done; sleep 0.3
            ip addr add 2001:db8:10:1::21/64 dev va
            ip link set va up
            for i in $(seq 80); do pgrep -x tcpdump > /dev/null || break; sleep 0.1; done
            tcpdump -nn -r '\(scratch.file("mld.pcap"))' 2> /dev/null | grep -c 'multicast listener report' || true
            """)
        #expect(result.stdout.split(separator: "\n").last.flatMap { Int($0) } == 1, "\(result.stdout)\(result.stderr)")
    }
}

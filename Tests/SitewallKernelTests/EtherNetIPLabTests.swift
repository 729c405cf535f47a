import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 12, 5: EtherNet/IP as it runs on the wire, through the compiled rules: a ListIdentity
/// broadcast answered by every adapter, class 1 I/O both ways between a scanner and its adapters
/// (the adapter may send first), target-to-originator multicast with the scanner's IGMP join, and
/// no I/O between two adapters.
@Suite(.serialized, .kernel) struct EtherNetIPLabTests {
    static let site = """
        site: eip
        zones:
          cell: { networks: [10.0.0.0/24] }
        hosts:
          scanner: { address: 10.0.0.5, roles: [ethernet-ip/scanner] }
          pac-1: { address: 10.0.0.11, roles: [opto22/snap-pac] }
          pac-2: { address: 10.0.0.12, roles: [ethernet-ip/adapter] }
        """

    /// Answers every datagram on a port with "<name> <data>", from that port.
    static let responder = #"""
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(sys.argv[2])))
        s.settimeout(4)
        try:
            while True:
                data, peer = s.recvfrom(200)
                s.sendto(sys.argv[1].encode() + b" " + data, peer)
        except socket.timeout:
            pass
        """#

    /// Sends one datagram (from `sport`, or an ephemeral port) and prints every answer for a second.
    static let asker = #"""
        import socket, sys, time
        target, dport, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", sport))
        s.settimeout(0.2)
        end = time.time() + 1.5
        sent = 0
        while time.time() < end:
            if sent < 3:
                try:
                    s.sendto(b"ASK", (target, dport))
                except OSError as e:
                    print("send failed", e.errno, flush=True)
                sent += 1
            try:
                data, peer = s.recvfrom(200)
                print("answer", data.decode(), "from", peer[0], peer[1], flush=True)
            except socket.timeout:
                pass
        """#

    /// Joins a group on 2222 and prints what arrives.
    static let member = #"""
        import socket, struct
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 2222))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     struct.pack("4s4s", socket.inet_aton("239.192.1.1"), socket.inet_aton("10.0.0.5")))
        s.settimeout(3)
        try:
            data, peer = s.recvfrom(200)
            print("group got", data.decode(), "from", peer[0], flush=True)
        except socket.timeout:
            print("group got nothing", flush=True)
        """#

    static let producer = #"""
        import socket, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 2222))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.0.0.11"))
        for _ in range(5):
            s.sendto(b"T2O", ("239.192.1.1", 2222))
            time.sleep(0.3)
        """#

    @Test func listIdentityIOAndMulticastWorkAndAdaptersStayApart() throws {
        guard NftLoadTests.requireLab() else { return }
        let workspace = try SiteFixture.workspace(Self.site)
        let lab = Lab(site: workspace.resolved)
        defer { lab.tearDown() }
        try lab.build()
        for target in workspace.compiler.targets {
            try lab.load(nft: NftBackend.render(workspace.policy(for: target)), into: target.name)
        }
        let scratch = try ScratchDirectory("sitewall-eip")
        for (name, text) in [
            ("responder.py", Self.responder), ("asker.py", Self.asker), ("member.py", Self.member),
            ("producer.py", Self.producer),
        ] {
            try text.write(toFile: scratch.file(name), atomically: true, encoding: .utf8)
        }
        func ns(_ host: String) throws -> String {
            "ip netns exec \(try #require(lab.plan.node(for: host)?.namespace))"
        }
        let py = { (name: String) in "python3 \(scratch.file(name))" }
        let scanner = try ns("scanner")
        let pac1 = try ns("pac-1")
        let pac2 = try ns("pac-2")
        // The scanner counts IGMP that leaves it: postrouting comes after the output filter.
        let script = """
            \(scanner) nft 'add table ip watch; add chain ip watch post { type filter hook postrouting priority 0; }; \
            add rule ip watch post ip protocol igmp counter'
            \(pac1) \(py("responder.py")) pac-1 44818 & \(pac2) \(py("responder.py")) pac-2 44818 &
            sleep 0.5
            echo '# list identity'; \(scanner) \(py("asker.py")) 10.0.0.255 44818 0
            wait
            \(pac1) \(py("responder.py")) pac-1 2222 & \(scanner) \(py("responder.py")) scanner 2222 &
            sleep 0.5
            echo '# adapter first'; \(pac2) \(py("asker.py")) 10.0.0.5 2222 2222
            echo '# adapter to adapter'; \(pac2) \(py("asker.py")) 10.0.0.11 2222 2222
            wait
            \(pac1) \(py("responder.py")) pac-1 2222 &
            sleep 0.5
            echo '# scanner to pac-1'; \(scanner) \(py("asker.py")) 10.0.0.11 2222 2222
            wait
            echo '# multicast'
            \(scanner) \(py("member.py")) & sleep 0.5; \(pac1) \(py("producer.py")); wait
            \(scanner) nft list table ip watch | grep -o 'packets [0-9]*'
            """
        let result = try Subprocess.run("/bin/sh", ["-c", script])
        let out = result.stdout
        func section(_ name: String) -> String {
            let after = out.components(separatedBy: "# \(name)\n").dropFirst().first ?? ""
            return after.components(separatedBy: "\n# ").first ?? ""
        }
        let listIdentity = section("list identity")
        #expect(listIdentity.contains("answer pac-1 ASK from 10.0.0.11 44818"), "\(out)\(result.stderr)")
        // (To the zone's directed broadcast: the lab's hosts have no default route for 255.255.255.255.)
        #expect(listIdentity.contains("answer pac-2 ASK from 10.0.0.12 44818"), "\(out)")
        // pac-2 sends I/O to the scanner before the scanner sent any: it arrives (new to conntrack).
        #expect(section("adapter first").contains("answer scanner ASK from 10.0.0.5 2222"), "\(out)")
        #expect(section("scanner to pac-1").contains("answer pac-1 ASK from 10.0.0.11 2222"), "\(out)")
        // Two adapters never exchange I/O: pac-2's output and pac-1's input both refuse it.
        let apart = section("adapter to adapter")
        #expect(!apart.contains("answer"), "\(out)")
        #expect(apart.contains("send failed 1"), "\(out)")
        let multicast = section("multicast")
        #expect(multicast.contains("group got T2O from 10.0.0.11"), "\(out)\(result.stderr)")
        let counted = multicast.components(separatedBy: "packets ").last ?? ""
        let igmp = Int(counted.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(igmp > 0, "no IGMP report left the scanner: \(out)")
    }
}

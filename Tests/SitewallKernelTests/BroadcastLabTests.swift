import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 12, 1: a gateway that serves DHCP to a zone receives a DISCOVER sent, as a client without
/// an address sends it, from 0.0.0.0 to 255.255.255.255 on that zone's interface.
@Suite(.serialized, .kernel) struct BroadcastLabTests {
    static let sender = #"""
        import socket, struct, sys
        def checksum(data):
            total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
            total = (total >> 16) + (total & 0xffff)
            return ~(total + (total >> 16)) & 0xffff
        payload = b"DISCOVER"
        udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes(4), b"\xff" * 4)
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((sys.argv[1], 0))
        s.send(frame)
        """#

    static let receiver = #"""
        import socket
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        r.bind(("0.0.0.0", 67))
        r.settimeout(3)
        try:
            data, peer = r.recvfrom(100)
            print("received %s from %s" % (data.decode(), peer[0]), flush=True)
        except socket.timeout:
            print("received nothing", flush=True)
        """#

    @Test func aDiscoverFromNoAddressReachesTheGatewaysServer() throws {
        guard NftLoadTests.requireLab() else { return }
        let workspace = try SiteFixture.workspace(ProtocolTruthSites.dhcpOnAGateway)
        let scratch = try ScratchDirectory("sitewall-broadcast")
        try NftBackend.render(workspace.policy(for: Target(kind: .gateway, name: "gw")))
            .write(toFile: scratch.file("gw.nft"), atomically: true, encoding: .utf8)
        try Self.sender.write(toFile: scratch.file("send.py"), atomically: true, encoding: .utf8)
        try Self.receiver.write(toFile: scratch.file("recv.py"), atomically: true, encoding: .utf8)
        let result = try NetnsSandbox.run(
            """
            ip link set lo up
            ip link add eth4 type veth peer name cam0
            ip link set eth4 up; ip link set cam0 up
            ip addr add 10.0.4.1/24 dev eth4
            nft -f \(scratch.file("gw.nft"))
            python3 \(scratch.file("recv.py")) > \(scratch.file("out")) &
            sleep 0.5
            python3 \(scratch.file("send.py")) cam0
            wait
            cat \(scratch.file("out"))
            """)
        #expect(result.stdout.contains("received DISCOVER from 0.0.0.0"), "\(result.stdout)\(result.stderr)")
    }
}

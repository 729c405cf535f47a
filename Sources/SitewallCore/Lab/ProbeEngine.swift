import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs probes concurrently from one thread: listeners and clients are opened inside the lab's
/// namespaces (setns around socket(2): a socket stays in the namespace it was made in), then one
/// poll(2) loop accepts, echoes and times out. A TFTP probe is answered from a new port, as a
/// TFTP server does, so it passes only if the tftp helper admits the answer as related. An ICMP
/// probe is an echo request from a ping socket; the kernel of the destination answers it. Broadcast,
/// multicast and 0.0.0.0 probes pass only on the listener's own answer; FTP probes hold a control
/// session and pass when the data connection it announces is made.
public final class ProbeEngine {
    public enum EngineError: Error, CustomStringConvertible {
        case system(String, Int32)
        public var description: String {
            switch self {
            case .system(let what, let code): "\(what): \(String(cString: strerror(code)))"
            }
        }
    }

    private let lab: Lab
    private let timeout: Double
    private var namespaceFDs: [String: Int32] = [:]

    private enum Role {
        case tcpListener
        case tcpClient(Int)
        case udp(String)
        case echo(Int)
        /// An accepted control connection on a listener: answers PASV and PORT.
        case ftpSession
        /// The client's control connection, by stage: 0 connecting, 1 awaiting the greeting, 2 awaiting
        /// the answer to USER, 3 awaiting the 227 answer to PASV (or done, in active mode).
        case ftpClient(id: Int, passive: Bool, stage: Int)
        /// A data listener: the client's (active mode, completes the probe) or the server's (passive).
        case dataListener(Int?)
        /// A data connection being made: the client's (passive, completes the probe) or the server's.
        case dataConnector(Int?)
        /// A client that sends a request segment by segment once connected, and passes when the
        /// listener has confirmed `total` bytes.
        case requestClient(id: Int, connected: Bool, total: Int, confirmed: Int)
    }
    private struct Socket {
        var fd: Int32
        var role: Role
        var namespace: String
    }
    private var sockets: [Int32: Socket] = [:]
    private var udpShared: [String: Int32] = [:]
    private var outcome: [Int: Observation] = [:]
    private var probesByID: [Int: Probe] = [:]
    /// Later segments of requests, each sent when due (a pause keeps segments apart).
    private var pendingSegments: [(fd: Int32, due: Date, bytes: [UInt8])] = []
    static let segmentPause = 0.25

    public init(lab: Lab, timeout: Double = 1.5) {
        self.lab = lab
        self.timeout = timeout
    }

    deinit {
        for fd in sockets.keys { close(fd) }
        for fd in namespaceFDs.values { close(fd) }
    }

    public func run(_ probes: [Probe]) throws -> [ProbeResult] {
        for probe in probes { probesByID[probe.id] = probe }
        // Listeners first, in every destination, for every probed port: a drop then means the firewall.
        var listening = Set<String>()
        for probe in probes {
            let key = "\(probe.to)|\(probe.toAddress.family)|\(probe.transport)|\(probe.dport)"
            if listening.insert(key).inserted {
                switch probe.transport {
                case .tcp: try openTCPListener(host: probe.to, family: probe.toAddress.family, port: probe.dport)
                case .udp: _ = try sharedUDP(host: probe.to, family: probe.toAddress.family, port: probe.dport)
                case .icmp, .igmp: break
                }
            }
            if case .multicast(let group)? = probe.delivery {
                // The listener joins the group on its own address, as the receiver of the I/O does.
                let fd = try sharedUDP(host: probe.to, family: .ipv4, port: probe.dport)
                var request = ip_mreq(
                    imr_multiaddr: in_addr(s_addr: UInt32(truncatingIfNeeded: group.value).bigEndian),
                    imr_interface: in_addr(s_addr: UInt32(truncatingIfNeeded: probe.toAddress.value).bigEndian))
                _ = setsockopt(
                    fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, &request, socklen_t(MemoryLayout<ip_mreq>.size))
            }
            if case .unaddressed? = probe.delivery, let sport = probe.sport {
                // Where the answer to a request from 0.0.0.0 arrives: the station's own port.
                _ = try sharedUDP(host: probe.from, family: .ipv4, port: sport)
            }
        }
        var udpPending: [(probe: Probe, fd: Int32)] = []
        for probe in probes {
            switch probe.transport {
            case .tcp:
                if case .ftp(let passive)? = probe.delivery {
                    try connectFTP(probe, passive: passive)
                } else if case .modbus(let request)? = probe.delivery {
                    try connectRequest(probe, segments: request.segments)
                } else {
                    try connectTCP(probe)
                }
            case .udp where probe.delivery.map({ if case .unaddressed = $0 { true } else { false } }) ?? false:
                try sendUnaddressed(probe)
            case .igmp: outcome[probe.id] = .dropped
            case .icmp:
                let family = probe.fromAddress.family
                let fd = try makeSocket(
                    host: probe.from, family: family, type: SOCK_DGRAM, role: .echo(probe.id),
                    protocol: Int32(family == .ipv4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
                udpPending.append((probe, fd))
            case .udp:
                let fd =
                    try probe.sport.map { try sharedUDP(host: probe.from, family: probe.fromAddress.family, port: $0) }
                    ?? makeSocket(
                        host: probe.from, family: probe.fromAddress.family, type: SOCK_DGRAM, role: .udp(probe.from))
                if case .multicast? = probe.delivery {
                    // Out of the sender's own interface (the lab has no multicast route), TTL 1 as CIP sends.
                    var interface = in_addr(s_addr: UInt32(truncatingIfNeeded: probe.fromAddress.value).bigEndian)
                    _ = setsockopt(
                        fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, &interface, socklen_t(MemoryLayout<in_addr>.size))
                }
                udpPending.append((probe, fd))
            }
        }
        let start = Date()
        var lastSend = Date.distantPast
        var sends = 0
        while Date().timeIntervalSince(start) < timeout && outcome.count < probes.count {
            // UDP may lose the first datagram to neighbour resolution: send three times.
            if sends < 3 && Date().timeIntervalSince(lastSend) > timeout / 4 {
                for (probe, fd) in udpPending where outcome[probe.id] == nil { sendRequest(probe, fd: fd) }
                lastSend = Date()
                sends += 1
            }
            sendDueSegments()
            try pollOnce(milliseconds: 50)
        }
        return probes.map { ProbeResult(probe: $0, observed: outcome[$0.id] ?? .dropped) }
    }

    // MARK: sockets in namespaces

    private func namespaceFD(_ host: String) throws -> Int32 {
        if let fd = namespaceFDs[host] { return fd }
        guard let path = lab.namespacePath(of: host) else {
            throw EngineError.system("no namespace for \(host)", ENOENT)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.system("open \(path)", errno) }
        namespaceFDs[host] = fd
        return fd
    }

    private func makeSocket(
        host: String, family: IPFamily, type: __socket_type, role: Role, protocol: Int32 = 0
    ) throws -> Int32 {
        let ns = try namespaceFD(host)
        let (fd, socketErrno) = try NetworkNamespace.run(in: ns) { () -> (Int32, Int32) in
            let fd = socket(
                family == .ipv4 ? AF_INET : AF_INET6,
                Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), `protocol`)
            return (fd, errno)
        }
        guard fd >= 0 else { throw EngineError.system("socket in \(host)", socketErrno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == .ipv6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        if type == SOCK_DGRAM { setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, socklen_t(MemoryLayout<Int32>.size)) }
        sockets[fd] = Socket(fd: fd, role: role, namespace: host)
        return fd
    }

    private func bindAny(_ fd: Int32, family: IPFamily, port: UInt16, host: String) throws {
        let status = withSocketAddress(
            family == .ipv4 ? IPAddress(family: .ipv4, value: 0) : IPAddress(family: .ipv6, value: 0), port: port
        ) {
            bind(fd, $0, $1)
        }
        guard status == 0 else { throw EngineError.system("bind \(family)/\(port) in \(host)", errno) }
    }

    private func openTCPListener(host: String, family: IPFamily, port: UInt16) throws {
        let fd = try makeSocket(host: host, family: family, type: SOCK_STREAM, role: .tcpListener)
        try bindAny(fd, family: family, port: port, host: host)
        guard listen(fd, 64) == 0 else { throw EngineError.system("listen in \(host)", errno) }
    }

    /// One UDP socket per host, family and port: it answers requests and receives answers.
    private func sharedUDP(host: String, family: IPFamily, port: UInt16) throws -> Int32 {
        let key = "\(host)|\(family)|\(port)"
        if let fd = udpShared[key] { return fd }
        let fd = try makeSocket(host: host, family: family, type: SOCK_DGRAM, role: .udp(host))
        try bindAny(fd, family: family, port: port, host: host)
        udpShared[key] = fd
        return fd
    }

    private func connectTCP(_ probe: Probe) throws {
        let fd = try makeSocket(
            host: probe.from, family: probe.fromAddress.family, type: SOCK_STREAM, role: .tcpClient(probe.id))
        if let sport = probe.sport { try bindAny(fd, family: probe.fromAddress.family, port: sport, host: probe.from) }
        let status = withSocketAddress(probe.toAddress, port: probe.dport) { connect(fd, $0, $1) }
        if status == 0 { finish(fd, probe.id, .passed) } else if errno != EINPROGRESS { finish(fd, probe.id, .refused) }
    }

    private func connectRequest(_ probe: Probe, segments: [[UInt8]]) throws {
        let total = segments.reduce(0) { $0 + $1.count }
        let fd = try makeSocket(
            host: probe.from, family: probe.fromAddress.family, type: SOCK_STREAM,
            role: .requestClient(id: probe.id, connected: false, total: total, confirmed: 0))
        // Each send its own segment: no waiting to coalesce small writes.
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), Self.tcpNoDelay, &one, socklen_t(MemoryLayout<Int32>.size))
        let status = withSocketAddress(probe.toAddress, port: probe.dport) { connect(fd, $0, $1) }
        if status != 0 && errno != EINPROGRESS { return finish(fd, probe.id, .refused) }
        // Timed once the connection is open (handleRequestClient).
        pendingSegments += segments.map { (fd, Date.distantFuture, $0) }
    }

    /// TCP_NODELAY (netinet/tcp.h, which the Glibc module does not export).
    static let tcpNoDelay: Int32 = 1

    /// Sends the segments that are due on connected request clients.
    private func sendDueSegments() {
        let now = Date()
        var later: [(fd: Int32, due: Date, bytes: [UInt8])] = []
        var sentOn = Set<Int32>()
        for entry in pendingSegments {
            guard let socket = sockets[entry.fd], case .requestClient(_, let connected, _, _) = socket.role else {
                continue
            }
            // One segment per client per round, and only once connected and due.
            if !connected || entry.due > now || sentOn.contains(entry.fd) {
                later.append(entry)
                continue
            }
            _ = entry.bytes.withUnsafeBytes { Glibc.send(entry.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            sentOn.insert(entry.fd)
        }
        pendingSegments = later
    }

    /// A request client: connected, then the listener's "RCVD n" lines add up to the request's size.
    private func handleRequestClient(_ socket: Socket, id: Int, connected: Bool, total: Int, confirmed: Int) {
        if !connected {
            guard Self.pendingError(socket.fd) == 0 else { return finish(socket.fd, id, .refused) }
            sockets[socket.fd]?.role = .requestClient(id: id, connected: true, total: total, confirmed: 0)
            // The first segment goes now; the rest keep their pause after it.
            let now = Date()
            var index = 0
            for i in pendingSegments.indices where pendingSegments[i].fd == socket.fd {
                pendingSegments[i].due = now.addingTimeInterval(Double(index) * Self.segmentPause)
                index += 1
            }
            sendDueSegments()
            return
        }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(socket.fd, &buffer, buffer.count, 0)
        guard count > 0 else { return forget(socket.fd) }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        let received = text.split(whereSeparator: \.isNewline).compactMap { line -> Int? in
            line.hasPrefix("RCVD ") ? Int(line.dropFirst(5).trimmingCharacters(in: .whitespaces)) : nil
        }
        let sum = confirmed + received.reduce(0, +)
        if sum >= total { return finish(socket.fd, id, .passed) }
        sockets[socket.fd]?.role = .requestClient(id: id, connected: true, total: total, confirmed: sum)
    }

    private func finish(_ fd: Int32, _ id: Int, _ observation: Observation) {
        if outcome[id] == nil { outcome[id] = observation }
        forget(fd)
    }

    private func forget(_ fd: Int32) {
        close(fd)
        sockets[fd] = nil
    }

    /// The result of a non-blocking connect: 0 once connected.
    private static func pendingError(_ fd: Int32) -> Int32 {
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error
    }

    // MARK: messages

    static func request(_ probe: Probe) -> [UInt8] {
        if probe.transport == .icmp {
            // An echo request (the kernel sets the identifier and checksum of a ping socket).
            let type: UInt8 = probe.fromAddress.family == .ipv4 ? 8 : 128
            return [type, 0, 0, 0, 0, 0] + Bytes.be16(UInt16(truncatingIfNeeded: probe.id)) + Array("SWP".utf8)
        }
        if probe.helper == .tftp {
            // A TFTP read request, so that the kernel's tftp helper expects the answer.
            return [0, 1] + Array("swp-\(probe.id)".utf8) + [0] + Array("octet".utf8) + [0]
        }
        let marker = Array("SWP REQ \(probe.id)".utf8)
        if case .bacnet(let request)? = probe.delivery {
            return BACnetRequest.frame(broadcast: false, expectingReply: true, apdu: request.apdu, trailer: marker)
        }
        if probe.framing == .bacnet {
            // What an operation filter lets through: a read, or a Who-Is where it is broadcast.
            if case .broadcast? = probe.delivery {
                return BACnetRequest.frame(
                    broadcast: true, expectingReply: false, apdu: BACnetRequest.whoIs, trailer: marker)
            }
            return BACnetRequest.frame(
                broadcast: false, expectingReply: true, apdu: BACnetRequest.readProperty.apdu, trailer: marker)
        }
        return marker
    }

    /// Where a request is sent: the listener, or the broadcast or group it listens on.
    static func destination(_ probe: Probe) -> IPAddress {
        switch probe.delivery {
        case .broadcast(let address)?, .multicast(let address)?: address
        default: probe.toAddress
        }
    }

    private func sendRequest(_ probe: Probe, fd: Int32) {
        let bytes = ProbeEngine.request(probe)
        _ = withSocketAddress(Self.destination(probe), port: probe.dport) { address, length in
            bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
        }
    }

    private func handleDatagram(on socket: Socket) {
        var buffer = [UInt8](repeating: 0, count: 512)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                recvfrom(socket.fd, &buffer, buffer.count, 0, $0, &length)
            }
        }
        guard count > 0 else { return }
        let bytes = Array(buffer[0..<count])
        var text = String(decoding: bytes, as: UTF8.self)
        let source = Self.address(of: storage)
        // A BACnet/IP frame carries the probe's marker behind its APDU, and is answered in one (a
        // SimpleACK), so that an operation filter on the answering side lets the answer through too.
        let bacnet = bytes.first == 0x81
        if bacnet, let start = bytes.firstRange(of: Array("SWP ".utf8))?.lowerBound {
            text = String(decoding: bytes[start...], as: UTF8.self)
        }
        if text.hasPrefix("SWP REQ ") {
            let marker = Array(("SWP ACK " + text.dropFirst(8)).utf8)
            let answer =
                bacnet
                ? BACnetRequest.frame(broadcast: false, expectingReply: false, apdu: [0x20, 0x01, 12], trailer: marker)
                : marker
            if let id = Int(text.dropFirst(8)), let probe = probesByID[id], let port = Self.localAddress(socket.fd)?.1,
                let reply = try? makeSocket(
                    host: socket.namespace, family: probe.toAddress.family, type: SOCK_DGRAM,
                    role: .udp(socket.namespace))
            {
                // From the address the probe was for (a host with several addresses would otherwise
                // answer from its first), on the listening port; a request from 0.0.0.0 is answered to
                // the zone's broadcast, as a DHCP server answers.
                defer { forget(reply) }
                guard withSocketAddress(probe.toAddress, port: port, { bind(reply, $0, $1) }) == 0 else { return }
                if source?.value == 0, case .unaddressed(let answerTo)? = probe.delivery {
                    _ = withSocketAddress(answerTo, port: probe.sport ?? 68) { address, length in
                        answer.withUnsafeBytes { sendto(reply, $0.baseAddress, $0.count, 0, address, length) }
                    }
                } else {
                    _ = withUnsafePointer(to: &storage) { pointer in
                        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                            answer.withUnsafeBytes { sendto(reply, $0.baseAddress, $0.count, 0, address, length) }
                        }
                    }
                }
                return
            }
            _ = withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    answer.withUnsafeBytes { sendto(socket.fd, $0.baseAddress, $0.count, 0, address, length) }
                }
            }
        } else if bytes.starts(with: [0, 1]), let name = bytes.dropFirst(2).split(separator: 0).first,
            let id = String(decoding: name, as: UTF8.self).split(separator: "-").last
        {
            // Answer a TFTP read from a new port (the server's transfer ID), as TFTP does.
            guard case .udp = socket.role,
                let reply = try? makeSocket(
                    host: socket.namespace, family: storage.ss_family == sa_family_t(AF_INET) ? .ipv4 : .ipv6,
                    type: SOCK_DGRAM, role: .udp(socket.namespace))
            else { return }
            let data: [UInt8] = [0, 3, 0, 1] + Array("SWP ACK \(id)".utf8)
            _ = withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    data.withUnsafeBytes { sendto(reply, $0.baseAddress, $0.count, 0, address, length) }
                }
            }
            forget(reply)
        } else {
            let payload = bytes.starts(with: [0, 3]) ? String(decoding: bytes.dropFirst(4), as: UTF8.self) : text
            if payload.hasPrefix("SWP ACK "), let id = Int(payload.dropFirst(8)), outcome[id] == nil {
                // A broadcast or group reaches every listener: only this probe's listener's answer counts.
                if let probe = probesByID[id], probe.delivery != nil, source != probe.toAddress { return }
                outcome[id] = .passed
            }
        }
    }

    static func address(of storage: sockaddr_storage) -> IPAddress? {
        let family = Int32(storage.ss_family)
        return withUnsafeBytes(of: storage) { raw -> IPAddress? in
            switch family {
            case AF_INET:
                let sin = raw.load(as: sockaddr_in.self)
                return IPAddress(family: .ipv4, value: UInt128(UInt32(bigEndian: sin.sin_addr.s_addr)))
            case AF_INET6:
                let sin6 = raw.load(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
                return IPAddress(family: .ipv6, value: bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) })
            default:
                return nil
            }
        }
    }

    // MARK: a request from 0.0.0.0

    /// A DHCP-like request before any lease: an Ethernet broadcast frame from 0.0.0.0 to
    /// 255.255.255.255, sent on the station's link with a packet socket (no route or address needed).
    private func sendUnaddressed(_ probe: Probe) throws {
        guard let interface = lab.plan.node(for: probe.from)?.interfaces.first?.name else { return }
        let ns = try namespaceFD(probe.from)
        let (fd, index, socketErrno) = try NetworkNamespace.run(in: ns) { () -> (Int32, UInt32, Int32) in
            let fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            return (fd, if_nametoindex(interface), errno)
        }
        guard fd >= 0 else { throw EngineError.system("packet socket in \(probe.from)", socketErrno) }
        defer { close(fd) }
        let frame = Self.unaddressedFrame(probe)
        // struct sockaddr_ll (linux/if_packet.h, not in Swift's Glibc): family, protocol, ifindex,
        // hatype, pkttype, halen, addr[8].
        var link = withUnsafeBytes(of: UInt16(AF_PACKET)) { Array($0) } + [0x08, 0x00]
        link += withUnsafeBytes(of: Int32(index)) { Array($0) } + [0, 0, 0, 6]
        link += [UInt8](repeating: 0xff, count: 6) + [0, 0]
        // Three times, like the other UDP probes (the answer ends the probe).
        for _ in 0..<3 {
            _ = link.withUnsafeBytes { raw in
                frame.withUnsafeBytes {
                    sendto(
                        fd, $0.baseAddress, $0.count, 0, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self),
                        socklen_t(raw.count))
                }
            }
        }
    }

    static func unaddressedFrame(_ probe: Probe) -> [UInt8] {
        let payload = request(probe)
        let sport = probe.sport ?? 68
        let udp =
            Bytes.be16(sport) + Bytes.be16(probe.dport) + Bytes.be16(UInt16(8 + payload.count)) + [0, 0] + payload
        var ip: [UInt8] = [0x45, 0] + Bytes.be16(UInt16(20 + udp.count)) + [0, 1, 0, 0, 64, 17, 0, 0]
        ip += [0, 0, 0, 0] + [255, 255, 255, 255]
        var sum: UInt32 = 0
        for i in stride(from: 0, to: ip.count, by: 2) { sum += UInt32(ip[i]) << 8 | UInt32(ip[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        ip[10...11] = ArraySlice(Bytes.be16(~UInt16(sum)))
        // A locally administered source address: the lab's bridge learns it like any other.
        return [UInt8](repeating: 0xff, count: 6) + [0x02, 0x53, 0x57, 0x50, 0, 1] + [0x08, 0x00] + ip + udp
    }

    // MARK: FTP control sessions

    private func connectFTP(_ probe: Probe, passive: Bool) throws {
        let fd = try makeSocket(
            host: probe.from, family: probe.fromAddress.family, type: SOCK_STREAM,
            role: .ftpClient(id: probe.id, passive: passive, stage: 0))
        let status = withSocketAddress(probe.toAddress, port: probe.dport) { connect(fd, $0, $1) }
        if status != 0 && errno != EINPROGRESS { finish(fd, probe.id, .refused) }
    }

    private static func localAddress(_ fd: Int32) -> (IPAddress, UInt16)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0, let address = address(of: storage) else { return nil }
        let port = withUnsafeBytes(of: &storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
        return (address, port)
    }

    /// "10,0,0,5,195,80": an IPv4 address and port as PORT and 227 write them.
    static func hostPort(_ address: IPAddress, _ port: UInt16) -> String {
        let v = UInt32(truncatingIfNeeded: address.value)
        return [v >> 24, v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff, UInt32(port >> 8), UInt32(port & 0xff)]
            .map(String.init).joined(separator: ",")
    }

    static func parseHostPort(_ text: Substring) -> (IPAddress, UInt16)? {
        let numbers = text.split(separator: ",").compactMap {
            UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        guard numbers.count == 6, numbers.allSatisfy({ $0 < 256 }) else { return nil }
        let value = numbers[0] << 24 | numbers[1] << 16 | numbers[2] << 8 | numbers[3]
        return (IPAddress(family: .ipv4, value: UInt128(value)), UInt16(numbers[4] << 8 | numbers[5]))
    }

    private func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private func readLine(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
    }

    /// A data listener on the control connection's own address, any port.
    private func openDataListener(host: String, on fd: Int32, probe: Int?) throws -> (IPAddress, UInt16)? {
        guard let (address, _) = Self.localAddress(fd) else { return nil }
        let listener = try makeSocket(host: host, family: .ipv4, type: SOCK_STREAM, role: .dataListener(probe))
        let status = withSocketAddress(address, port: 0) { bind(listener, $0, $1) }
        guard status == 0, listen(listener, 4) == 0, let (_, port) = Self.localAddress(listener) else { return nil }
        return (address, port)
    }

    private func connectData(host: String, to address: IPAddress, port: UInt16, probe: Int?) throws {
        let fd = try makeSocket(host: host, family: .ipv4, type: SOCK_STREAM, role: .dataConnector(probe))
        let status = withSocketAddress(address, port: port) { connect(fd, $0, $1) }
        if status == 0, let probe { finish(fd, probe, .passed) }
    }

    /// The client's control connection: once connected, the greeting, USER, then PASV or PORT; in
    /// passive mode, the 227 answer opens the data connection.
    private func handleFTPClient(_ socket: Socket, id: Int, passive: Bool, stage: Int) throws {
        let advance: () -> Void = {
            self.sockets[socket.fd]?.role = .ftpClient(id: id, passive: passive, stage: stage + 1)
        }
        if stage == 0 {
            guard Self.pendingError(socket.fd) == 0 else { return finish(socket.fd, id, .refused) }
            advance()
            return
        }
        guard let text = readLine(socket.fd) else { return forget(socket.fd) }
        switch stage {
        case 1 where text.hasPrefix("220"):
            send(socket.fd, "USER swp\r\n")
            advance()
        case 2 where text.hasPrefix("331"):
            if passive {
                send(socket.fd, "PASV\r\n")
            } else if let (address, port) = try openDataListener(host: socket.namespace, on: socket.fd, probe: id) {
                send(socket.fd, "PORT \(Self.hostPort(address, port))\r\n")
            }
            advance()
        case 3 where passive && text.hasPrefix("227 "):
            guard let open = text.firstIndex(of: "("), let end = text.firstIndex(of: ")"),
                let (address, port) = Self.parseHostPort(text[text.index(after: open)..<end])
            else { return }
            try connectData(host: socket.namespace, to: address, port: port, probe: id)
        default:
            break
        }
    }

    /// The server's side of a control connection: PASV opens a data listener, PORT connects to the client.
    /// Anything else it receives (a request of a payload probe) is confirmed by its size: "RCVD n".
    private func handleFTPSession(_ socket: Socket) throws {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(socket.fd, &buffer, buffer.count, 0)
        guard count > 0 else { return forget(socket.fd) }
        let line = String(decoding: buffer[0..<count], as: UTF8.self)
        if line.hasPrefix("USER") {
            send(socket.fd, "331 any password will do\r\n")
        } else if line.hasPrefix("PASV") {
            guard let (address, port) = try openDataListener(host: socket.namespace, on: socket.fd, probe: nil) else {
                return
            }
            send(socket.fd, "227 Entering Passive Mode (\(Self.hostPort(address, port))).\r\n")
        } else if line.hasPrefix("PORT "), let (address, port) = Self.parseHostPort(line.dropFirst(5)) {
            send(socket.fd, "200 PORT command successful.\r\n")
            try connectData(host: socket.namespace, to: address, port: port, probe: nil)
        } else {
            send(socket.fd, "RCVD \(count)\r\n")
        }
    }

    private func pollOnce(milliseconds: Int32) throws {
        var fds = sockets.values.map { socket -> pollfd in
            var events = Int16(POLLIN)
            switch socket.role {
            case .tcpClient, .dataConnector, .ftpClient(_, _, stage: 0), .requestClient(_, connected: false, _, _):
                events = Int16(POLLOUT)
            default: break
            }
            return pollfd(fd: socket.fd, events: events, revents: 0)
        }
        let ready = poll(&fds, nfds_t(fds.count), milliseconds)
        guard ready > 0 else { return }
        for entry in fds where entry.revents != 0 {
            guard let socket = sockets[entry.fd] else { continue }
            switch socket.role {
            case .tcpListener:
                // Kept open: an FTP probe's client speaks on it next.
                let accepted = accept(socket.fd, nil, nil)
                if accepted >= 0 {
                    _ = fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK)
                    sockets[accepted] = Socket(fd: accepted, role: .ftpSession, namespace: socket.namespace)
                    // The ftp helper reads a command or answer only after an earlier line in the same
                    // direction, so the session opens as FTP does: a greeting, then USER.
                    send(accepted, "220 sitewall probe\r\n")
                }
            case .ftpSession:
                try handleFTPSession(socket)
            case .ftpClient(let id, let passive, let stage):
                try handleFTPClient(socket, id: id, passive: passive, stage: stage)
            case .dataListener(let probe):
                let accepted = accept(socket.fd, nil, nil)
                if accepted >= 0 { close(accepted) }
                if let probe { finish(socket.fd, probe, .passed) }
            case .dataConnector(let probe):
                if let probe, Self.pendingError(socket.fd) == 0 {
                    finish(socket.fd, probe, .passed)
                } else {
                    forget(socket.fd)
                }
            case .tcpClient(let id):
                finish(socket.fd, id, Self.pendingError(socket.fd) == 0 ? .passed : .refused)
            case .requestClient(let id, let connected, let total, let confirmed):
                handleRequestClient(socket, id: id, connected: connected, total: total, confirmed: confirmed)
            case .udp:
                handleDatagram(on: socket)
            case .echo(let id):
                // Only the echo reply to this socket's request arrives here.
                var buffer = [UInt8](repeating: 0, count: 128)
                if recv(socket.fd, &buffer, buffer.count, 0) > 0 { finish(socket.fd, id, .passed) }
            }
        }
    }
}

/// Calls `body` with a sockaddr for an address and port.
func withSocketAddress<T>(_ address: IPAddress, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    switch address.family {
    case .ipv4:
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = UInt32(truncatingIfNeeded: address.value).bigEndian
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    case .ipv6:
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { bytes in
            for i in 0..<16 { bytes[i] = UInt8(truncatingIfNeeded: address.value >> UInt128(8 * (15 - i))) }
        }
        return withUnsafePointer(to: &sin6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
    }
}

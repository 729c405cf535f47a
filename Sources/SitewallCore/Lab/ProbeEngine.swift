import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs probes concurrently from one thread: listeners and clients are opened inside the lab's
/// namespaces (setns around socket(2): a socket stays in the namespace it was made in), then one
/// poll(2) loop accepts, echoes and times out. A TFTP probe is answered from a new port, as a
/// TFTP server does, so it passes only if the tftp helper admits the answer as related. An ICMP
/// probe is an echo request from a ping socket; the kernel of the destination answers it.
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
    }
    private struct Socket {
        var fd: Int32
        var role: Role
        var namespace: String
    }
    private var sockets: [Int32: Socket] = [:]
    private var udpShared: [String: Int32] = [:]
    private var outcome: [Int: Observation] = [:]

    public init(lab: Lab, timeout: Double = 1.5) {
        self.lab = lab
        self.timeout = timeout
    }

    deinit {
        for fd in sockets.keys { close(fd) }
        for fd in namespaceFDs.values { close(fd) }
    }

    public func run(_ probes: [Probe]) throws -> [ProbeResult] {
        // Listeners first, in every destination, for every probed port: a drop then means the firewall.
        var listening = Set<String>()
        for probe in probes {
            let key = "\(probe.to)|\(probe.toAddress.family)|\(probe.transport)|\(probe.dport)"
            guard listening.insert(key).inserted else { continue }
            switch probe.transport {
            case .tcp: try openTCPListener(host: probe.to, family: probe.toAddress.family, port: probe.dport)
            case .udp: _ = try sharedUDP(host: probe.to, family: probe.toAddress.family, port: probe.dport)
            case .icmp, .igmp: break
            }
        }
        var udpPending: [(probe: Probe, fd: Int32)] = []
        for probe in probes {
            switch probe.transport {
            case .tcp: try connectTCP(probe)
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

    private func finish(_ fd: Int32, _ id: Int, _ observation: Observation) {
        if outcome[id] == nil { outcome[id] = observation }
        close(fd)
        sockets[fd] = nil
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
        return Array("SWP REQ \(probe.id)".utf8)
    }

    private func sendRequest(_ probe: Probe, fd: Int32) {
        let bytes = ProbeEngine.request(probe)
        _ = withSocketAddress(probe.toAddress, port: probe.dport) { address, length in
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
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("SWP REQ ") {
            let answer = Array(("SWP ACK " + text.dropFirst(8)).utf8)
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
            close(reply)
            sockets[reply] = nil
        } else {
            let payload = bytes.starts(with: [0, 3]) ? String(decoding: bytes.dropFirst(4), as: UTF8.self) : text
            if payload.hasPrefix("SWP ACK "), let id = Int(payload.dropFirst(8)), outcome[id] == nil {
                outcome[id] = .passed
            }
        }
    }

    private func pollOnce(milliseconds: Int32) throws {
        var fds = sockets.values.map { socket -> pollfd in
            var events = Int16(POLLIN)
            if case .tcpClient = socket.role { events = Int16(POLLOUT) }
            return pollfd(fd: socket.fd, events: events, revents: 0)
        }
        let ready = poll(&fds, nfds_t(fds.count), milliseconds)
        guard ready > 0 else { return }
        for entry in fds where entry.revents != 0 {
            guard let socket = sockets[entry.fd] else { continue }
            switch socket.role {
            case .tcpListener:
                let accepted = accept(socket.fd, nil, nil)
                if accepted >= 0 { close(accepted) }
            case .tcpClient(let id):
                var error: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(socket.fd, SOL_SOCKET, SO_ERROR, &error, &size)
                finish(socket.fd, id, error == 0 ? .passed : .refused)
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

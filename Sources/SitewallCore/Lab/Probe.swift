/// One packet test: can `from` open `transport/dport` on `to`, and should it?
public struct Probe: Sendable, Hashable, Codable {
    public var id: Int
    public var from: String
    public var fromAddress: IPAddress
    public var to: String
    public var toAddress: IPAddress
    public var transport: Transport
    public var sport: UInt16?
    public var dport: UInt16
    public var helper: ConntrackHelper?
    public var expected: Verdict
    /// The flow this probe exercises, when it is one.
    public var service: String?
    /// Why the probe is there: "flow", "neighbouring port", "reverse direction", "no conduit", ...
    public var reason: String
    /// The point that decides: "host scada-1" inside a zone, "gw-1 forward supervisory -> control" across.
    public var enforcement: String
    /// How the probe travels when it is not a plain unicast request to `toAddress`.
    public var delivery: Delivery?

    public var label: String {
        let source = sport.map { ":\($0)" } ?? ""
        let flow = service.map { " (\($0))" } ?? ""
        let what = transport == .icmp ? "icmp echo" : "\(transport.rawValue)/\(dport)"
        let via: String
        switch delivery {
        case .broadcast(let address)?, .multicast(let address)?: via = " via \(address)"
        case .unaddressed?: via = " via 255.255.255.255"
        default: via = ""
        }
        var origin = fromAddress.description
        if case .unaddressed? = delivery { origin = "0.0.0.0" }
        return "\(from) \(origin)\(source) -> \(to) \(toAddress)\(via) \(what)\(flow)"
    }
}

/// The ways a probe reaches its listener besides unicast. For broadcast, multicast and 0.0.0.0
/// probes only the listener's own answer (from `toAddress`) counts.
public enum Delivery: Sendable, Hashable, Codable {
    /// To a broadcast address of the listener's zone (a BACnet Who-Is, a ListIdentity).
    case broadcast(IPAddress)
    /// To a group of a multicast scope the listener joins (EtherNet/IP target-to-originator I/O).
    case multicast(IPAddress)
    /// From 0.0.0.0 to 255.255.255.255 as a raw frame (a DHCP DISCOVER before any lease); the
    /// listener answers to the zone's broadcast `answerTo`.
    case unaddressed(answerTo: IPAddress)
    /// An FTP control session that then opens a data connection: passive (the client connects to
    /// the port of the 227 answer) or active (the server connects to the port of the PORT command).
    case ftp(passive: Bool)

    var reason: String {
        switch self {
        case .broadcast: "broadcast"
        case .multicast: "multicast"
        case .unaddressed: "from 0.0.0.0"
        case .ftp(let passive): passive ? "ftp passive data" : "ftp active data"
        }
    }
}

public enum Observation: String, Sendable, Codable {
    /// The connection was accepted or the datagram answered.
    case passed
    /// Nothing came back before the timeout.
    case dropped
    /// A reset or ICMP error came back: blocked, but not silently.
    case refused
}

public struct ProbeResult: Sendable, Codable {
    public var probe: Probe
    public var observed: Observation
    public var matches: Bool { (observed == .passed) == (probe.expected == .accept) }
}

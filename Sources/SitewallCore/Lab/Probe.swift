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

    public var label: String {
        let source = sport.map { ":\($0)" } ?? ""
        let flow = service.map { " (\($0))" } ?? ""
        let what = transport == .icmp ? "icmp echo" : "\(transport.rawValue)/\(dport)"
        return "\(from) \(fromAddress)\(source) -> \(to) \(toAddress) \(what)\(flow)"
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

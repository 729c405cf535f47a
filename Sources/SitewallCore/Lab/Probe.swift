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
    /// The protocol its request is wrapped in, where an operation filter reads the payload (BACnet).
    public var framing: Framing? = nil

    public var label: String {
        let source = sport.map { ":\($0)" } ?? ""
        let flow = service.map { " (\($0))" } ?? ""
        let what = transport == .icmp ? "icmp echo" : "\(transport.rawValue)/\(dport)"
        let via: String
        switch delivery {
        case .broadcast(let address)?, .multicast(let address)?: via = " via \(address)"
        case .unaddressed?: via = " via 255.255.255.255"
        case .modbus(let request)?: via = " modbus \(request.rawValue)"
        case .bacnet(let request)?: via = " bacnet \(request.rawValue)"
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
    /// A Modbus/TCP request, segment by segment, once the connection is open: it passes when the
    /// listener has received every byte of it.
    case modbus(ModbusRequest)
    /// A BACnet/IP request (UDP), answered by the listener.
    case bacnet(BACnetRequest)

    var reason: String {
        switch self {
        case .bacnet(let request): "bacnet \(request.rawValue)"
        case .modbus(let request): "modbus \(request.rawValue)"
        case .broadcast: "broadcast"
        case .multicast: "multicast"
        case .unaddressed: "from 0.0.0.0"
        case .ftp(let passive): passive ? "ftp passive data" : "ftp active data"
        }
    }
}

/// Modbus/TCP requests `verify` sends through an operation filter (unit 1, holding register 0).
public enum ModbusRequest: String, Sendable, Hashable, Codable, CaseIterable {
    /// Read holding registers (3), one request in one segment.
    case read
    /// Write single register (6), one request in one segment.
    case write
    /// The write in two segments, split before its function code.
    case splitWrite = "split-write"
    /// A read and a write in one segment.
    case readThenWrite = "read-then-write"

    static func request(transaction: UInt16, function: UInt8, _ data: [UInt8]) -> [UInt8] {
        Bytes.be16(transaction) + [0, 0] + Bytes.be16(UInt16(data.count + 2)) + [1, function] + data
    }
    static let readRequest = request(transaction: 1, function: 3, [0, 0, 0, 2])
    static let writeRequest = request(transaction: 2, function: 6, [0, 0, 0x10, 0xe1])

    /// The segments, in order (a pause between them keeps them apart).
    public var segments: [[UInt8]] {
        switch self {
        case .read: [Self.readRequest]
        case .write: [Self.writeRequest]
        case .splitWrite: [Array(Self.writeRequest[..<5]), Array(Self.writeRequest[5...])]
        case .readThenWrite: [Self.readRequest + Self.writeRequest]
        }
    }

    /// The function codes it carries.
    public var functionCodes: [UInt8] {
        switch self {
        case .read: [3]
        case .write, .splitWrite: [6]
        case .readThenWrite: [3, 6]
        }
    }

    /// What a filter does with it: a request split before its function code, or two in one segment,
    /// never pass; a whole request passes when its function code is allowed.
    public func passes(_ filter: OperationFilter?) -> Bool {
        guard let filter else { return true }
        switch self {
        case .read, .write: return functionCodes.allSatisfy(filter.functionCodes.contains)
        case .splitWrite, .readThenWrite: return false
        }
    }
}

/// Payload a probe's request is wrapped in, so that an operation filter sees its protocol.
public enum Framing: String, Sendable, Hashable, Codable {
    /// A BACnet/IP frame: a ReadProperty, or a Who-Is when broadcast; the probe's marker follows it.
    case bacnet
}

/// BACnet/IP requests `verify` sends through an operation filter (device instance 1).
public enum BACnetRequest: String, Sendable, Hashable, Codable, CaseIterable {
    case readProperty = "read-property"
    case writeProperty = "write-property"
    case reinitializeDevice = "reinitialize-device"

    /// The APDU (a confirmed request, invoke id 1, expecting a reply).
    var apdu: [UInt8] {
        let device: [UInt8] = [0x0c, 0x02, 0x00, 0x00, 0x01]
        switch self {
        case .readProperty: return [0x00, 0x05, 0x01, 12] + device + [0x19, 0x4d]
        case .writeProperty:
            return [0x00, 0x05, 0x01, 15] + device + [0x19, 0x4d, 0x3e, 0x75, 0x04, 0x00] + Array("SWP".utf8) + [0x3f]
        case .reinitializeDevice: return [0x00, 0x05, 0x01, 20, 0x09, 0x00]
        }
    }

    /// What read-only does with it: only reads pass.
    public func passes(_ filter: OperationFilter?) -> Bool { filter == nil || self == .readProperty }

    /// A whole BACnet/IP datagram: BVLC (original unicast or broadcast), NPDU, APDU, then `trailer`.
    static func frame(broadcast: Bool, expectingReply: Bool, apdu: [UInt8], trailer: [UInt8]) -> [UInt8] {
        let npdu: [UInt8] = [0x01, expectingReply ? 0x04 : 0x00]
        let length = UInt16(4 + npdu.count + apdu.count + trailer.count)
        return [0x81, broadcast ? 0x0b : 0x0a] + Bytes.be16(length) + npdu + apdu + trailer
    }

    /// Who-Is, unconfirmed, for a broadcast.
    static let whoIs: [UInt8] = [0x10, 0x08]
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

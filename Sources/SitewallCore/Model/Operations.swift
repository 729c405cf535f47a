/// Which operations of a protocol a use may perform, as the site writes it: `read-only`, or a list
/// of function codes.
public enum OperationSpec: Sendable, Hashable, CustomStringConvertible {
    case readOnly
    case functionCodes([UInt8])

    public var description: String {
        switch self {
        case .readOnly: "read-only"
        case .functionCodes(let codes): "function codes " + codes.map(String.init).joined(separator: ", ")
        }
    }
}

/// The protocols whose operations the kernel can tell apart in a segment, named by a service's
/// `operations:` in its profile.
public enum OperationProtocol: String, Sendable, Hashable, CaseIterable {
    case modbus
    case bacnet

    /// What it runs over (a profile's service must match).
    public var transport: Transport { self == .modbus ? .tcp : .udp }

    /// What a site may ask of it: BACnet takes `read-only` only (its services are not numbered codes a
    /// site would list).
    public func accepts(_ spec: OperationSpec) -> Bool {
        switch (self, spec) {
        case (.modbus, _), (.bacnet, .readOnly): true
        case (.bacnet, .functionCodes): false
        }
    }
}

/// The operations a flow is limited to: the function codes a Modbus client may send.
public struct OperationFilter: Sendable, Hashable, CustomStringConvertible {
    public var protocolName: OperationProtocol
    /// Sorted, without repeats.
    public var functionCodes: [UInt8]
    /// "read-only" when the site asked for the named list.
    public var name: String?

    public init(_ protocolName: OperationProtocol, functionCodes: some Sequence<UInt8>, name: String? = nil) {
        self.protocolName = protocolName
        self.functionCodes = Array(Set(functionCodes)).sorted()
        self.name = name
    }

    /// What the site wrote, for a protocol that `accepts` it.
    public init(_ protocolName: OperationProtocol, spec: OperationSpec) {
        switch (protocolName, spec) {
        case (.modbus, .readOnly): self.init(.modbus, functionCodes: ModbusOperations.readOnly, name: "read-only")
        case (.bacnet, _): self.init(.bacnet, functionCodes: [], name: "read-only")
        case (_, .functionCodes(let codes)): self.init(protocolName, functionCodes: codes)
        }
    }

    /// What both filters allow (a use's and its conduit's).
    public func intersection(_ other: OperationFilter) -> OperationFilter {
        let codes = Set(functionCodes).intersection(other.functionCodes)
        return OperationFilter(protocolName, functionCodes: codes, name: name == other.name ? name : nil)
    }

    public var description: String {
        name ?? "function codes " + functionCodes.map(String.init).joined(separator: ", ")
    }

    /// The tests that hold a flow to the filter, with their verdicts, in order (see each protocol).
    func tests() -> [(payload: [PayloadMatch], verdict: Verdict, why: String)] {
        switch protocolName {
        case .modbus: ModbusOperations.tests(for: self)
        case .bacnet: BACnetOperations.readOnlyTests()
        }
    }
}

/// What a Modbus/TCP request looks like on the wire (Modbus Application Protocol Specification
/// V1.1b3, section 6; Modbus Messaging on TCP/IP Implementation Guide V1.0b, section 3.1.3): a
/// 7-byte MBAP header (transaction id, protocol id, length, unit id), then the function code and
/// its data. The length field counts the unit id and the PDU.
public enum ModbusOperations {
    /// Function codes that read and change nothing: read coils, discrete inputs, holding and input
    /// registers (1-4), read exception status (7), get comm event counter and log (11, 12), report
    /// server id (17), read FIFO queue (24), read device identification (43, MEI type 14). Read file
    /// record (20) reads too, but its request has no fixed length, so one request per segment
    /// cannot be checked: it is left out (list it with the others to allow it).
    public static let readOnly: [UInt8] = [1, 2, 3, 4, 7, 11, 12, 17, 24, 43]

    /// Function codes that exist in the specification (public codes).
    public static let known: Set<UInt8> = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43]

    /// Requests of a fixed length: function code -> PDU length in bytes (function code included).
    public static let fixedRequestLength: [UInt8: Int] = [
        1: 5, 2: 5, 3: 5, 4: 5, 5: 5, 6: 5, 7: 1, 11: 1, 12: 1, 17: 1, 22: 7, 24: 3, 43: 4,
    ]

    /// Encapsulated interface transport (43): MEI type 14 is Read Device Identification; 13 (CANopen)
    /// can write, so only 14 passes.
    static let readDeviceIdentification: UInt8 = 14

    /// Bytes 4-7 of a request (length, unit id, function code) with the unit id masked out.
    static let headerMask: [UInt8] = [0xff, 0xff, 0x00, 0xff]

    static func header(functionCode: UInt8, pduLength: Int) -> [UInt8] {
        let length = UInt16(1 + pduLength)
        return Bytes.be16(length) + [0, functionCode]
    }

    /// The tests that hold a client to `filter`, each with its verdict, in order, for the rules
    /// that go before the established-connection accept (so that every segment is checked, not
    /// only the first): a whole request of an allowed function code passes; any other segment with
    /// payload is dropped. Segments without payload (the handshake, bare acknowledgements) match
    /// none of them and go on to the usual rules.
    static func tests(for filter: OperationFilter) -> [(payload: [PayloadMatch], verdict: Verdict, why: String)] {
        let fixed = filter.functionCodes.filter { fixedRequestLength[$0] != nil }
        let variable = filter.functionCodes.filter { fixedRequestLength[$0] == nil }
        let what = "Modbus \(filter)"
        var out: [(payload: [PayloadMatch], verdict: Verdict, why: String)] = []
        if !variable.isEmpty {
            let codes = variable.map(String.init).joined(separator: ", ")
            out.append(
                (
                    [PayloadMatch(offset: 7, length: 1, test: .oneOf, values: variable.map { [$0] })], .accept,
                    "\(what): function codes \(codes) (variable length: the code alone is checked)"
                ))
        }
        let headers = fixed.map { header(functionCode: $0, pduLength: fixedRequestLength[$0]!) }
        if headers.isEmpty {
            out.append(([PayloadMatch.present(at: 7)], .drop, "\(what): every other function code"))
        } else {
            out.append(
                (
                    [PayloadMatch(offset: 4, length: 4, mask: headerMask, test: .noneOf, values: headers)], .drop,
                    "\(what): other function codes, or a request of the wrong length"
                ))
            // A segment longer than its one request carries a second one, unchecked: dropped.
            let bySize = Dictionary(grouping: fixed) { 7 + fixedRequestLength[$0]! }
            for size in bySize.keys.sorted() {
                let sized = bySize[size]!.map { header(functionCode: $0, pduLength: fixedRequestLength[$0]!) }
                out.append(
                    (
                        [
                            PayloadMatch(offset: 4, length: 4, mask: headerMask, test: .oneOf, values: sized),
                            PayloadMatch.present(at: UInt32(size)),
                        ], .drop, "\(what): more than one request in a segment"
                    ))
            }
            if fixed.contains(43) {
                out.append(
                    (
                        [
                            PayloadMatch(
                                offset: 4, length: 4, mask: headerMask, test: .oneOf,
                                values: [header(functionCode: 43, pduLength: fixedRequestLength[43]!)]),
                            PayloadMatch(offset: 8, length: 1, test: .noneOf, values: [[readDeviceIdentification]]),
                        ], .drop, "\(what): function code 43 other than Read Device Identification"
                    ))
            }
            out.append(([PayloadMatch.present(at: 7)], .accept, "\(what): one whole request"))
        }
        // Fewer than eight bytes: a request split before its function code.
        out.append(([PayloadMatch.present(at: 0)], .drop, "\(what): a request split before its function code"))
        return out
    }
}

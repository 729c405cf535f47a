/// What a BACnet/IP message looks like on the wire (ASHRAE 135, Annex J for the BVLL, clause 6 for
/// the NPDU, clause 20 for the APDU), as far as read-only needs it. A datagram is one message, so
/// unlike Modbus over TCP there is nothing to split or coalesce.
///
/// - BVLC header (4 bytes): type 0x81, function (0x0a Original-Unicast-NPDU, 0x0b
///   Original-Broadcast-NPDU, 0x04 Forwarded-NPDU with the original sender's 6-byte B/IP address
///   after the header), length.
/// - NPDU: version 1, control (0x80 network-layer message, 0x20 destination specifier, 0x08 source
///   specifier); with a destination, DNET (2), DLEN (1), DADR (DLEN bytes), then the hop count
///   after any source specifier.
/// - APDU: its type in the high nibble of the first byte; a confirmed request names its service in
///   its fourth byte when not segmented (0x08 set: segmented), an unconfirmed request in its second.
public enum BACnetOperations {
    /// Confirmed services that read: getAlarmSummary (3), getEnrollmentSummary (4), atomicReadFile
    /// (6), readProperty (12), readPropertyMultiple (14), readRange (26), getEventInformation (29),
    /// auditLogQuery (33). Everything else writes, subscribes, controls or notifies:
    /// writeProperty (15), writePropertyMultiple (16), deviceCommunicationControl (17),
    /// reinitializeDevice (20), createObject (10), atomicWriteFile (7), subscribeCOV (5), ...
    public static let readConfirmed: [UInt8] = [3, 4, 6, 12, 14, 26, 29, 33]

    /// Unconfirmed services of discovery and time: i-Am (0), i-Have (1), timeSynchronization (6),
    /// who-Has (7), who-Is (8), utcTimeSynchronization (9). Not: notifications, private transfer,
    /// text messages, writeGroup (10), you-Are (14).
    public static let readUnconfirmed: [UInt8] = [0, 1, 6, 7, 8, 9]

    /// Answers a peer may send back: SimpleACK, ComplexACK, SegmentACK, Error, Reject, Abort.
    static let answers: [UInt8] = [0x20, 0x30, 0x40, 0x50, 0x60, 0x70]

    /// The layouts read-only lets through: where the NPDU starts, what its header must be, and
    /// where the APDU then starts (offsets from the start of the UDP payload). A network-layer
    /// message, a source specifier, or a destination address of another length is dropped.
    struct Layout {
        var what: String
        var header: [PayloadMatch]
        var apdu: UInt32
    }

    static let layouts: [Layout] = {
        // BVLC type and function, and the NPDU's version and control byte (its specifier bits): bytes
        // 0-5 of an original NPDU, the BVLC length masked out.
        let mask: [UInt8] = [0xff, 0xff, 0, 0, 0xff, 0xa8]
        let original = { (control: UInt8) in
            PayloadMatch(
                offset: 0, length: 6, mask: mask, test: .oneOf,
                values: [[0x81, 0x0a, 0, 0, 1, control], [0x81, 0x0b, 0, 0, 1, control]])
        }
        let destinationLength = { (length: UInt8) in
            PayloadMatch(offset: 8, length: 1, test: .oneOf, values: [[length]])
        }
        return [
            Layout(what: "local", header: [original(0)], apdu: 6),
            Layout(what: "to every network", header: [original(0x20), destinationLength(0)], apdu: 10),
            Layout(what: "to an MS/TP device", header: [original(0x20), destinationLength(1)], apdu: 11),
            Layout(what: "to a B/IP device", header: [original(0x20), destinationLength(6)], apdu: 16),
            Layout(
                what: "forwarded by a BBMD",
                header: [
                    PayloadMatch(offset: 0, length: 2, test: .oneOf, values: [[0x81, 0x04]]),
                    PayloadMatch(offset: 10, length: 2, mask: [0xff, 0xa8], test: .oneOf, values: [[1, 0]]),
                ], apdu: 12),
        ]
    }()

    /// In order: each layout's reads, discovery and answers pass; every other datagram of the flow
    /// is dropped.
    static func readOnlyTests() -> [(payload: [PayloadMatch], verdict: Verdict, why: String)] {
        var out: [(payload: [PayloadMatch], verdict: Verdict, why: String)] = []
        for layout in layouts {
            let at = layout.apdu
            out.append(
                (
                    layout.header + [
                        // A confirmed request, not segmented.
                        PayloadMatch(offset: at, length: 1, mask: [0xf8], test: .oneOf, values: [[0]]),
                        PayloadMatch(offset: at + 3, length: 1, test: .oneOf, values: readConfirmed.map { [$0] }),
                    ], .accept, "BACnet read-only: a read (\(layout.what))"
                ))
            out.append(
                (
                    layout.header + [
                        PayloadMatch(offset: at, length: 1, test: .oneOf, values: [[0x10]]),
                        PayloadMatch(offset: at + 1, length: 1, test: .oneOf, values: readUnconfirmed.map { [$0] }),
                    ], .accept, "BACnet read-only: discovery or time (\(layout.what))"
                ))
            out.append(
                (
                    layout.header + [
                        PayloadMatch(offset: at, length: 1, mask: [0xf0], test: .oneOf, values: answers.map { [$0] })
                    ], .accept, "BACnet read-only: an answer (\(layout.what))"
                ))
        }
        out.append(([PayloadMatch.present(at: 0)], .drop, "BACnet read-only: every other message"))
        return out
    }
}

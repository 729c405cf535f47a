import CNftnl

/// A stream of raw netlink messages (a snapshot or a dump), as the shim hands it over.
enum NetlinkMessages {
    /// nlmsghdr, and nfgenmsg after it (every nf_tables message starts with both).
    static let header = MemoryLayout<nlmsghdr>.size
    static let nfHeader = MemoryLayout<nlmsghdr>.size + MemoryLayout<nfgenmsg>.size

    /// Where the sequence number (then the port id) and nfgenmsg's res_id (the generation) are.
    static let sequenceOffset = MemoryLayout<nlmsghdr>.offset(of: \nlmsghdr.nlmsg_seq)!
    static let resIDOffset = header + MemoryLayout<nfgenmsg>.offset(of: \nfgenmsg.res_id)!

    /// NLMSG_ALIGN: messages start on 4-byte boundaries.
    static func aligned(_ length: Int) -> Int { (length + 3) & ~3 }

    /// Where each whole message starts and how long it is; stops at the first malformed header.
    static func spans(_ bytes: [UInt8]) -> [(offset: Int, length: Int)] {
        var spans: [(offset: Int, length: Int)] = []
        var offset = 0
        while offset + header <= bytes.count {
            let length =
                Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16
                | Int(bytes[offset + 3]) << 24
            guard length >= header, offset + length <= bytes.count else { break }
            spans.append((offset, length))
            offset += aligned(length)
        }
        return spans
    }

    /// Where the last span ends, padding included (the stream's length when every message was whole).
    static func end(of spans: [(offset: Int, length: Int)]) -> Int {
        spans.last.map { $0.offset + aligned($0.length) } ?? 0
    }
}

extension NetlinkMessages {
    /// Calls `body` with each whole message of `bytes`, in order.
    static func forEach(_ bytes: [UInt8], _ body: (UnsafePointer<nlmsghdr>) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, !raw.isEmpty else { return }
            var remaining = Int32(raw.count)
            var message = UnsafePointer(base.assumingMemoryBound(to: nlmsghdr.self))
            while mnl_nlmsg_ok(message, remaining) {
                try body(message)
                guard let next = mnl_nlmsg_next(message, &remaining) else { break }
                message = UnsafePointer(next)
            }
        }
    }

    /// NFNL_MSG_TYPE: the low byte is the message type (the high byte names the subsystem).
    static func type(_ message: UnsafePointer<nlmsghdr>) -> UInt32 { UInt32(message.pointee.nlmsg_type & 0x00ff) }

    /// The family in the message's nfgenmsg header.
    static func family(_ message: UnsafePointer<nlmsghdr>) -> UInt16 {
        UInt16(mnl_nlmsg_get_payload(message).assumingMemoryBound(to: nfgenmsg.self).pointee.nfgen_family)
    }
}

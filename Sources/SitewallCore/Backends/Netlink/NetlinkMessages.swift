/// A stream of raw netlink messages (a snapshot or a dump), as the shim hands it over.
enum NetlinkMessages {
    /// Where each whole message starts and how long it is; stops at the first malformed header.
    static func spans(_ bytes: [UInt8]) -> [(offset: Int, length: Int)] {
        var spans: [(offset: Int, length: Int)] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let length =
                Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16
                | Int(bytes[offset + 3]) << 24
            guard length >= 16, offset + length <= bytes.count else { break }
            spans.append((offset, length))
            offset += (length + 3) & ~3
        }
        return spans
    }

    /// Where the last span ends, padding included (the stream's length when every message was whole).
    static func end(of spans: [(offset: Int, length: Int)]) -> Int {
        spans.last.map { $0.offset + ($0.length + 3) & ~3 } ?? 0
    }
}

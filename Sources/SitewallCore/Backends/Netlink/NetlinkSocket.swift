import CNftnl
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failure the kernel (or the socket) reported, with the object it concerned.
public struct NetlinkError: Error, CustomStringConvertible, Sendable {
    public struct Refusal: Sendable, CustomStringConvertible {
        public var object: String
        public var errno: Int32
        public var description: String { "\(object): \(String(cString: strerror(errno)))" }
    }

    public var operation: String
    /// The refusals named (at most as many as the batch kept; `refusedCount` says how many there were).
    public var refusals: [Refusal]
    public var refusedCount = 0
    /// True when the batch may have been committed although no answer says so.
    public var outcomeUnknown = false
    /// Replaces the whole text (for failures better said in words than as an errno).
    public var message: String?

    public init(operation: String, refusals: [Refusal], outcomeUnknown: Bool = false) {
        self.operation = operation
        self.refusals = refusals
        self.outcomeUnknown = outcomeUnknown
    }

    public init(message: String) {
        self.init(operation: "", refusals: [])
        self.message = message
    }

    public var description: String {
        if let message { return message }
        var text = "\(operation) failed"
        let total = max(refusedCount, refusals.count)
        if total == 1 {
            text += ": " + refusals[0].description
            // Without CAP_NET_ADMIN the kernel refuses the socket or every message.
            if refusals[0].errno == EPERM { text += "\n  fix: run as root (the ruleset needs CAP_NET_ADMIN)" }
            return text
        }
        text += " (\(total) objects refused):"
        for refusal in refusals.prefix(20) { text += "\n  " + refusal.description }
        if total > 20 { text += "\n  ... and \(total - 20) more" }
        return text
    }

    /// The kernel refused the transaction because the ruleset changed since it was planned.
    public var isStaleGeneration: Bool {
        refusals.count == 1 && refusals[0].errno == ERESTART && refusals[0].object == "the transaction"
    }

    static func system(_ operation: String, _ code: Int32) -> NetlinkError {
        NetlinkError(operation: operation, refusals: [Refusal(object: "netlink socket", errno: code)])
    }
}

/// A netlink socket to nf_tables, in this process's network namespace or in a named one.
public final class NetlinkSocket {
    let handle: OpaquePointer

    /// Opens the socket; with `namespace` (a path like /run/netns/NAME), inside that namespace:
    /// a socket keeps the namespace it was opened in.
    public init(namespace: String? = nil) throws {
        let open = { () -> (OpaquePointer?, Int32) in
            let socket = CNftnl_open()
            return (socket, errno)
        }
        let (opened, code) = try namespace.map { try NetworkNamespace.run(at: $0, open) } ?? open()
        guard let opened else { throw NetlinkError.system("opening a netlink socket", code) }
        handle = opened
    }

    deinit { CNftnl_close(handle) }

    /// The ruleset generation: it changes with every committed transaction.
    public func generation() throws -> UInt32 {
        var genid: UInt32 = 0
        let status = CNftnl_genid(handle, &genid)
        guard status == 0 else { throw NetlinkError.system("reading the ruleset generation", -status) }
        return genid
    }

    /// One table as raw netlink messages with the generation it was read at: the generation is
    /// read before and after the dump, and the dump repeated until both agree.
    public func consistentSnapshot(table: String) throws -> (bytes: [UInt8], generation: UInt32) {
        try readWhileQuiet(what: "reading table inet \(table)") {
            let before = try generation()
            let bytes = try snapshot(table: table)
            return try generation() == before ? (bytes, before) : nil
        }
    }

    /// Every table, chain and rule of every family.
    public func dumpAll() throws -> [UInt8] {
        try readWhileQuiet(what: "listing the ruleset") {
            var buffer: UnsafeMutablePointer<UInt8>?
            var length = 0
            let status = CNftnl_dump_all(handle, &buffer, &length)
            guard status == 0 else { throw NetlinkError.system("listing the other tables", -status) }
            return Self.take(buffer, length)
        }
    }

    /// Runs `read` until it sees the ruleset unchanged (it returns nil, or the kernel marks its dump
    /// interrupted with EINTR, when another program committed meanwhile), at most 20 times.
    private func readWhileQuiet<T>(what: String, _ read: () throws -> T?) throws -> T {
        for _ in 0..<20 {
            do {
                if let result = try read() { return result }
            } catch let error as NetlinkError where error.refusals.count == 1 && error.refusals[0].errno == EINTR {}
            usleep(UInt32.random(in: 5_000...50_000))
        }
        throw NetlinkError(
            message: "\(what) failed: the ruleset changed during every one of 20 reads "
                + "(another program is committing rules continuously); nothing was changed")
    }

    /// The bytes of a buffer the shim allocated, which is then freed.
    static func take(_ buffer: UnsafeMutablePointer<UInt8>?, _ length: Int) -> [UInt8] {
        defer { CNftnl_free(buffer) }
        guard let buffer, length > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: buffer, count: length))
    }

    /// One table as raw netlink messages (empty if it does not exist), for rollback.
    public func snapshot(family: UInt16 = UInt16(NFPROTO_INET), table: String) throws -> [UInt8] {
        var buffer: UnsafeMutablePointer<UInt8>?
        var length = 0
        let status = table.withCString { CNftnl_snapshot(handle, family, $0, &buffer, &length) }
        guard status == 0 else { throw NetlinkError.system("reading table \(table)", -status) }
        return Self.take(buffer, length)
    }
}

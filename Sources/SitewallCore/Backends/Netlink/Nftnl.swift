import CNftnl
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A libnftnl call that failed, with the object it was working on.
public struct NftnlError: Error, CustomStringConvertible, Equatable {
    public var call: String
    public var object: String
    public var errno: Int32

    public var description: String {
        "\(call) failed for \(object): \(String(cString: strerror(errno)))"
    }
}

/// The one way Swift calls libnftnl: every call's result is checked, and a failure names the
/// call and the object (a rule, a set) it was for.
enum Nftnl {
    /// A call that returns 0 (or a length) on success and a negative value, with errno, on failure.
    static func check(_ call: String, _ object: @autoclosure () -> String, _ body: () -> Int32) throws {
        errno = 0
        let status = body()
        guard status < 0 else { return }
        throw NftnlError(call: call, object: object(), errno: errno != 0 ? errno : EINVAL)
    }

    /// A call that returns an object, or nil (with errno) on failure.
    static func make<T>(_ call: String, _ object: @autoclosure () -> String, _ body: () -> T?) throws -> T {
        errno = 0
        guard let value = body() else {
            throw NftnlError(call: call, object: object(), errno: errno != 0 ? errno : ENOMEM)
        }
        return value
    }

    /// Sets one attribute of an expression from raw bytes (libnftnl copies them).
    static func set(_ expression: OpaquePointer, _ attribute: Int, _ bytes: [UInt8], object: String) throws {
        try check("nftnl_expr_set", object) {
            bytes.withUnsafeBytes { nftnl_expr_set(expression, UInt16(attribute), $0.baseAddress, UInt32($0.count)) }
        }
    }

    static func set(_ expression: OpaquePointer, _ attribute: Int, _ value: UInt32, object: String) throws {
        try set(expression, attribute, withUnsafeBytes(of: value) { Array($0) }, object: object)
    }

    static func set(_ expression: OpaquePointer, _ attribute: Int, _ value: UInt64, object: String) throws {
        try set(expression, attribute, withUnsafeBytes(of: value) { Array($0) }, object: object)
    }

    static func set(_ expression: OpaquePointer, _ attribute: Int, _ value: String, object: String) throws {
        try check("nftnl_expr_set_str", object) { nftnl_expr_set_str(expression, UInt16(attribute), value) }
    }

    /// An attribute's bytes, or nil when it is not set.
    static func bytes(_ expression: OpaquePointer, _ attribute: Int) -> [UInt8]? {
        guard nftnl_expr_is_set(expression, UInt16(attribute)) else { return nil }
        var length: UInt32 = 0
        guard let data = nftnl_expr_get(expression, UInt16(attribute), &length) else { return nil }
        return Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
    }

    static func u32(_ expression: OpaquePointer, _ attribute: Int) -> UInt32? {
        guard let bytes = bytes(expression, attribute), bytes.count == 4 else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
    }

    static func u64(_ expression: OpaquePointer, _ attribute: Int) -> UInt64? {
        guard let bytes = bytes(expression, attribute), bytes.count == 8 else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    static func string(_ expression: OpaquePointer, _ attribute: Int) -> String? {
        guard nftnl_expr_is_set(expression, UInt16(attribute)),
            let text = nftnl_expr_get_str(expression, UInt16(attribute))
        else { return nil }
        return String(cString: text)
    }

    /// libnftnl's own one-line rendering of an expression, for what sitewall does not model.
    static func describe(_ expression: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        let count = nftnl_expr_snprintf(&buffer, buffer.count, expression, NFTNL_OUTPUT_DEFAULT.rawValue, 0)
        guard count > 0 else { return "?" }
        return cString(buffer).trimmingCharacters(in: .whitespaces)
    }

    /// A name libnftnl parsed; "?" when the message had none (the kernel always sends one).
    static func text(_ pointer: UnsafePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "?" }

    /// The text of a NUL-terminated C buffer.
    static func cString(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

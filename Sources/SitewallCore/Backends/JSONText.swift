import Foundation

/// Every JSON document sitewall prints (the policy, diff, verify and explain reports) in one form:
/// indented, keys sorted so that output is stable and diffable, slashes unescaped, newline-terminated.
public enum JSONText {
    public static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}

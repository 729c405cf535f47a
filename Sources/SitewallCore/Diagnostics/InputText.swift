/// Text from input files (names, paths, values) made safe to show on a terminal: control
/// characters and bidirectional overrides are escaped, and very long values are clipped, so a
/// site file cannot move the cursor, recolour the screen or flood it through an error message.
public enum InputText {
    /// A value from input, quoted, escaped and clipped to `limit` characters.
    public static func quoted(_ text: some StringProtocol, limit: Int = 80) -> String {
        "'" + clip(escaped(String(text)), limit: limit) + "'"
    }

    /// A line of output with every line escaped and clipped (newlines and tabs kept).
    public static func terminalSafe(_ text: String, lineLimit: Int = 600) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { clip(escaped(String($0), keepTabs: true), limit: lineLimit) }
            .joined(separator: "\n")
    }

    /// One line, clipped (for lists of things found in input).
    public static func clipped(_ text: String) -> String { clip(escaped(text), limit: 200) }

    static func escaped(_ text: String, keepTabs: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0, keepTabs: keepTabs) }) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if needsEscape(scalar, keepTabs: keepTabs) {
                result += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func needsEscape(_ scalar: Unicode.Scalar, keepTabs: Bool) -> Bool {
        switch scalar.value {
        case 0x09: return !keepTabs
        case 0x00...0x1f, 0x7f...0x9f, 0x200e, 0x200f, 0x202a...0x202e, 0x2066...0x2069: return true
        default: return false
        }
    }

    static func clip(_ text: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        let head = limit * 2 / 3
        let tail = limit / 4
        return String(text.prefix(head)) + "…(\(text.count - head - tail) characters left out)…"
            + String(text.suffix(tail))
    }
}

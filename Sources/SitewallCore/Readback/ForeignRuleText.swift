import CNftables
import Foundation

/// Rules sitewall did not write, in nft's own syntax: live through libnftables (nft's library, which
/// lists the table itself), offline from the rule's `nft -j` expressions.
enum ForeignRuleText {
    /// nft's text of every rule of a table in this network namespace, by handle, without the comment
    /// (which the diff shows on its own); empty when libnftables cannot list it.
    static func live(family: String, table: String) -> [UInt64: String] {
        guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { return [:] }
        defer { nft_ctx_free(context) }
        nft_ctx_output_set_flags(context, UInt32(NFT_CTX_OUTPUT_HANDLE))
        guard nft_ctx_buffer_output(context) == 0, nft_ctx_buffer_error(context) == 0,
            nft_run_cmd_from_buffer(context, "list table \(family) \(table)") == 0,
            let output = nft_ctx_get_output_buffer(context)
        else { return [:] }
        var rules: [UInt64: String] = [:]
        for line in String(cString: output).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            // Rules end in "# handle N"; tables, chains and sets open a block there ("{ # handle N").
            guard let mark = text.range(of: " # handle ", options: .backwards),
                let handle = UInt64(text[mark.upperBound...]), !text[..<mark.lowerBound].hasSuffix("{")
            else { continue }
            rules[handle] = withoutComment(String(text[..<mark.lowerBound]))
        }
        return rules
    }

    static func withoutComment(_ text: String) -> String {
        guard let range = text.range(of: #" comment "(?:[^"\\]|\\.)*"$"#, options: .regularExpression) else {
            return text
        }
        return String(text[..<range.lowerBound])
    }

    /// Meta keys nft writes without "meta".
    static let bareMeta: Set<String> = [
        "iif", "oif", "iifname", "oifname", "iiftype", "oiftype", "mark", "skuid", "skgid",
    ]

    /// A rule's `nft -j` expressions in nft syntax; an expression this does not know stays JSON.
    static func offline(_ expressions: [Any]) -> String {
        expressions.map { expression -> String in
            guard let object = expression as? [String: Any], object.count == 1, let (key, value) = object.first else {
                return json(expression)
            }
            switch key {
            case "match":
                guard let match = value as? [String: Any], let left = match["left"] else { return json(expression) }
                let op = match["op"] as? String ?? "=="
                let quoted = ((left as? [String: Any])?["meta"] as? [String: Any])?["key"] as? String
                let right = operand(match["right"] as Any, quoted: quoted.map { $0.hasSuffix("name") } ?? false)
                return operand(left) + " " + (op == "==" || op == "in" ? "" : op + " ") + right
            case "accept", "drop", "continue", "return", "notrack": return key
            case "jump", "goto": return "\(key) \((value as? [String: Any])?["target"] as? String ?? "?")"
            case "counter":
                guard let counter = value as? [String: Any] else { return "counter" }
                return "counter packets \(counter["packets"] ?? 0) bytes \(counter["bytes"] ?? 0)"
            case "ct helper": return "ct helper set \"\(value)\""
            case "reject", "log", "masquerade": return value is NSNull ? key : "\(key) \(json(value))"
            default: return json(expression)
            }
        }.joined(separator: " ")
    }

    static func operand(_ value: Any, quoted: Bool = false) -> String {
        if let text = value as? String { return quoted ? "\"\(text)\"" : text }
        if let number = value as? Int { return "\(number)" }
        if let list = value as? [Any] { return list.map { operand($0, quoted: quoted) }.joined(separator: ",") }
        guard let object = value as? [String: Any], object.count == 1, let (key, inner) = object.first else {
            return json(value)
        }
        switch key {
        case "payload":
            guard let payload = inner as? [String: Any] else { break }
            if let proto = payload["protocol"] as? String, let field = payload["field"] as? String {
                return "\(proto) \(field)"
            }
            if let base = payload["base"], let offset = payload["offset"], let length = payload["len"] {
                return "@\(base),\(offset),\(length)"
            }
        case "meta":
            guard let name = (inner as? [String: Any])?["key"] as? String else { break }
            return bareMeta.contains(name) ? name : "meta \(name)"
        case "ct":
            guard let name = (inner as? [String: Any])?["key"] as? String else { break }
            return "ct \(name)"
        case "set":
            let items = (inner as? [Any]) ?? [inner]
            return "{ " + items.map { operand($0, quoted: quoted) }.joined(separator: ", ") + " }"
        case "range":
            guard let bounds = inner as? [Any], bounds.count == 2 else { break }
            return operand(bounds[0]) + "-" + operand(bounds[1])
        case "prefix":
            guard let prefix = inner as? [String: Any], let address = prefix["addr"], let length = prefix["len"] else {
                break
            }
            return "\(operand(address))/\(length)"
        default: break
        }
        return json(value)
    }

    static func json(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys])
        else { return "\(value)" }
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}

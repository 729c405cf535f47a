import Foundation

/// The comment that `nft list ruleset` shows beside a rule: the flow and its source.
enum RuleComment {
    static let maxLength = 127

    static func make(_ origin: RuleOrigin) -> String {
        guard let service = origin.service else { return "" }
        let profile = service.split(separator: "/").first.map(String.init) ?? ""
        let short = { (roles: [String]?) -> String in
            (roles ?? []).map { $0.hasPrefix(profile + "/") ? String($0.dropFirst(profile.count + 1)) : $0 }.joined(
                separator: ",")
        }
        var text =
            origin.kind == .reply
            ? "reply \(service): \(short(origin.listenerRoles)) -> \(short(origin.initiatorRoles))"
            : "\(service): \(short(origin.initiatorRoles)) -> \(short(origin.listenerRoles))"
        if let citation = Citation.preferred(origin.citations ?? []) {
            text += " [\(citation.short)]"
        }
        return clip(text)
    }

    /// Keeps a comment within nft's limit and free of characters that could end the quoted string.
    static func clip(_ text: String) -> String {
        let safe = String(
            text.unicodeScalars.map { scalar -> Character in
                switch scalar {
                case "\"": "'"
                case "\u{2013}", "\u{2014}": "-"
                case _ where scalar == "\\" || scalar.value < 0x20 || scalar.value > 0x7e: "?"
                default: Character(scalar)
                }
            })
        return safe.utf8.count <= maxLength ? safe : String(safe.prefix(maxLength - 3)) + "..."
    }
}

/// Suggests the closest known name for a misspelt one ("did you mean ...?").
public enum DidYouMean {
    public static func suggestion(for name: String, among candidates: some Sequence<String>) -> String? {
        // Names are short; a long value is no typo of one (and would cost length x length to compare).
        guard name.count <= 128 else { return nil }
        let lowered = name.lowercased()
        var best: (name: String, distance: Int)?
        for candidate in candidates where abs(candidate.count - name.count) <= max(2, name.count / 3) {
            let distance = editDistance(lowered, candidate.lowercased())
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        guard let best else { return nil }
        // Allow roughly one typo per three characters; a suffix match also counts.
        let limit = max(2, name.count / 3)
        if best.distance <= limit { return best.name }
        return candidates.first { $0.lowercased().hasSuffix("/" + lowered) || $0.lowercased().hasPrefix(lowered + "/") }
    }

    /// "did you mean 'x'?", the names that contain the one given, or a list of what exists
    /// (at most `limit` names, saying how many there are in all).
    public static func hint(for name: String, among candidates: [String], kind: String, limit: Int = 8) -> String {
        if let match = suggestion(for: name, among: candidates) {
            return "did you mean '\(match)'?"
        }
        guard !candidates.isEmpty else { return "no \(kind) is defined" }
        let containing = candidates.filter { !name.isEmpty && $0.lowercased().contains(name.lowercased()) }.sorted()
        if !containing.isEmpty, containing.count <= limit {
            return "did you mean " + containing.map { "'\($0)'" }.joined(separator: " or ") + "?"
        }
        let shown = candidates.sorted().prefix(limit).joined(separator: ", ")
        let more = candidates.count > limit ? ", ... (\(candidates.count) in all)" : ""
        return "known \(kind)s: \(shown)\(more)"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

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

    /// "did you mean 'x'?" or a short list of what exists.
    public static func hint(for name: String, among candidates: [String], kind: String) -> String {
        if let match = suggestion(for: name, among: candidates) {
            return "did you mean '\(match)'?"
        }
        let shown = candidates.sorted().prefix(8).joined(separator: ", ")
        let more = candidates.count > 8 ? ", ..." : ""
        return candidates.isEmpty ? "no \(kind) is defined" : "known \(kind)s: \(shown)\(more)"
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

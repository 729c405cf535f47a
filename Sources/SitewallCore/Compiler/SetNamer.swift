import Foundation

/// Names address sets after the flows they serve and shares one set among rules that need the same addresses.
struct SetNamer {
    private struct Content: Hashable {
        var base: String
        var family: IPFamily
        var elements: [IPAddress]

        /// A few elements stand for all: a gateway's sets hold every host, and equal contents are
        /// compared in full anyway.
        func hash(into hasher: inout Hasher) {
            hasher.combine(base)
            hasher.combine(family)
            hasher.combine(elements.count)
            for index in [0, elements.count / 2, elements.count - 1] where elements.indices.contains(index) {
                hasher.combine(elements[index])
            }
        }
    }
    private var byContent: [Content: String] = [:]
    private var used: Set<String> = []
    private(set) var sets: [AddressSet] = []

    /// "plant_scada_client" for [plant-scada/client]; roles of one profile share its prefix.
    static func roleStem(_ roles: [String], fallback: String) -> String {
        guard !roles.isEmpty else { return fallback }
        let profiles = Set(roles.map { $0.split(separator: "/").first.map(String.init) ?? $0 })
        if profiles.count == 1, let profile = profiles.first {
            return profile + "_" + roles.map { String($0.dropFirst(profile.count + 1)) }.sorted().joined(separator: "_")
        }
        return roles.sorted().joined(separator: "_")
    }

    /// Lower-case letters, digits and '_' only: a safe nft identifier whatever the profile calls things.
    static func identifier(_ text: String) -> String {
        let mapped = text.lowercased().unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return (c.isASCII && (c.isLetter || c.isNumber)) ? c : "_"
        }
        var result = String(mapped)
        while result.contains("__") { result = result.replacingOccurrences(of: "__", with: "_") }
        // nft identifiers must start with a letter.
        if !(result.first?.isLetter ?? false) { result = "s_" + result }
        return String(result.prefix(48))
    }

    mutating func set(base: String, family: IPFamily, addresses: some Sequence<IPAddress>, comment: String) -> String {
        // Sorted, then repeats dropped side by side: no hashing of every address.
        var elements: [IPAddress] = []
        for address in addresses.sorted() where elements.last != address { elements.append(address) }
        let content = Content(base: base, family: family, elements: elements)
        if let name = byContent[content] { return name }
        let stem = SetNamer.identifier(base) + (family == .ipv4 ? "_v4" : "_v6")
        var name = stem
        var counter = 2
        while used.contains(name) {
            name = "\(stem)_\(counter)"
            counter += 1
        }
        used.insert(name)
        byContent[content] = name
        sets.append(AddressSet(name: name, family: family, elements: elements, comment: comment))
        return name
    }
}

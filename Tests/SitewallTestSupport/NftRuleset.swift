import Foundation

/// What `nft -j list ruleset` says, reduced to what the tests compare.
public struct NftRuleset: Sendable {
    public struct Chain: Sendable, Equatable {
        public var hook: String?
        public var policy: String?
        public var rules: [String]
    }

    public struct Table: Sendable {
        public var chains: [String: Chain] = [:]
        /// set name -> elements as nft prints them
        public var sets: [String: [String]] = [:]
        public var helpers: [String] = []
    }

    /// "family name" -> table
    public var tables: [String: Table] = [:]

    public init(json: String) throws {
        let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let items = root?["nftables"] as? [[String: Any]] ?? []
        for item in items {
            if let table = item["table"] as? [String: Any] {
                tables[Self.key(table), default: Table()] = tables[Self.key(table)] ?? Table()
            } else if let chain = item["chain"] as? [String: Any], let name = chain["name"] as? String {
                tables[Self.key(chain, field: "table"), default: Table()].chains[name] =
                    Chain(hook: chain["hook"] as? String, policy: chain["policy"] as? String, rules: [])
            } else if let rule = item["rule"] as? [String: Any], let chain = rule["chain"] as? String {
                let expr =
                    (try? JSONSerialization.data(withJSONObject: rule["expr"] ?? [], options: [.sortedKeys])) ?? Data()
                let comment = rule["comment"] as? String ?? ""
                tables[Self.key(rule, field: "table"), default: Table()].chains[chain, default: Chain(rules: [])]
                    .rules.append(String(decoding: expr, as: UTF8.self) + " #" + comment)
            } else if let set = item["set"] as? [String: Any], let name = set["name"] as? String {
                // As `nft list` writes them: `a`, `a-b`, `a/len`; anything else as its JSON.
                let elements = (set["elem"] as? [Any] ?? []).map { element -> String in
                    if let text = element as? String { return text }
                    let object = element as? [String: Any]
                    if let range = object?["range"] as? [String], range.count == 2 {
                        return range.joined(separator: "-")
                    }
                    if let prefix = object?["prefix"] as? [String: Any], let addr = prefix["addr"] as? String,
                        let length = prefix["len"] as? Int
                    {
                        return "\(addr)/\(length)"
                    }
                    let data = (try? JSONSerialization.data(withJSONObject: element, options: [.sortedKeys])) ?? Data()
                    return String(decoding: data, as: UTF8.self)
                }
                tables[Self.key(set, field: "table"), default: Table()].sets[name] = elements.sorted()
            } else if let helper = item["ct helper"] as? [String: Any], let name = helper["name"] as? String {
                tables[Self.key(helper, field: "table"), default: Table()].helpers.append(name)
            }
        }
    }

    static func key(_ object: [String: Any], field: String = "name") -> String {
        "\(object["family"] as? String ?? "?") \(object[field] as? String ?? "?")"
    }
}

extension NftRuleset.Chain {
    init(rules: [String]) { self.init(hook: nil, policy: nil, rules: rules) }
}

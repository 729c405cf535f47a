import Foundation

/// A JSON value decoded with JSONDecoder, which keeps a large `nft -j` dump at a small multiple of
/// its size (JSONSerialization's boxed objects took 100 times the file).
enum JSONValue: Codable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let number = try? container.decode(Int.self) {
            self = .int(number)
        } else if let object = try? container.decode([String: JSONValue].self) {
            self = .object(object)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else {
            self = .double(try container.decode(Double.self))
        }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .int(let number): try container.encode(number)
        case .double(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        case .array(let items): try container.encode(items)
        case .object(let members): try container.encode(members)
        }
    }

    /// The value as JSONSerialization would give it (for one object at a time).
    var any: Any {
        switch self {
        case .null: NSNull()
        case .bool(let flag): flag
        case .int(let number): number
        case .double(let number): number
        case .string(let text): text
        case .array(let items): items.map(\.any)
        case .object(let fields): fields.mapValues(\.any)
        }
    }
}

/// One item of `{"nftables": [...]}`: its kind ("table", "rule", ...) and its object. Rules of other
/// tables keep only what the diff needs of them (which statements they have), not their values.
struct NftJSONItem: Decodable {
    static let tableKey = CodingUserInfoKey(rawValue: "sitewall.table")!

    var kind: String
    var object: [String: JSONValue]

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The statement names of one expression, without their values.
    struct Keys: Decodable {
        var names: [String]
        init(from decoder: Decoder) throws {
            names = (try? decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)) ?? []
        }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        guard let key = container.allKeys.first else {
            kind = ""
            object = [:]
            return
        }
        kind = key.stringValue
        let ownTable = decoder.userInfo[Self.tableKey] as? String ?? Table.defaultName
        if kind == "rule" {
            let rule = try container.nestedContainer(keyedBy: AnyKey.self, forKey: key)
            let family = try? rule.decode(String.self, forKey: AnyKey(stringValue: "family"))
            let table = try? rule.decode(String.self, forKey: AnyKey(stringValue: "table"))
            if !(family == "inet" && table == ownTable) {
                let expressions = (try? rule.decode([Keys].self, forKey: AnyKey(stringValue: "expr"))) ?? []
                object = [
                    "family": family.map(JSONValue.string) ?? .null, "table": table.map(JSONValue.string) ?? .null,
                    "expr": .array(
                        expressions.map { .object(Dictionary(uniqueKeysWithValues: $0.names.map { ($0, .null) })) }),
                ]
                return
            }
        }
        guard case .object(let fields) = try container.decode(JSONValue.self, forKey: key) else {
            object = [:]
            return
        }
        object = fields
    }
}

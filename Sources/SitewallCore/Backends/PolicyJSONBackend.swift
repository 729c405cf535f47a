import Foundation

/// The compiled policy as JSON, for tools and tests (schema in docs/policy-json.md).
public enum PolicyJSONBackend: TextBackend {
    public static let kind = BackendKind.json

    public static func files(_ policy: Policy, options: RenderOptions) throws -> [(suffix: String, text: String)] {
        [("json", try render(policy))]
    }

    public static func render(_ policy: Policy) throws -> String {
        try JSONText.encode(policy)
    }

    public static func decode(_ text: String) throws -> Policy {
        try JSONDecoder().decode(Policy.self, from: Data(text.utf8))
    }
}

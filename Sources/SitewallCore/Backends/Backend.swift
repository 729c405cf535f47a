/// A way of turning a policy into something a machine loads.
public protocol TextBackend {
    /// The name users pass to --target / --format.
    static var name: String { get }
    /// The file suffix for `compile --all --output DIR`.
    static var fileSuffix: String { get }

    static func render(_ policy: Policy) throws -> String
}

/// Every text backend, in one place.
public enum Backends {
    nonisolated(unsafe) public static let text: [any TextBackend.Type] = [NftBackend.self, PolicyJSONBackend.self]

    public static func named(_ name: String) -> (any TextBackend.Type)? {
        text.first { $0.name == name }
    }
}

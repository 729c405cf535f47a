import Foundation
import SitewallCore

/// A named network namespace (ip netns add) for tests that open netlink sockets inside it from
/// this process; deleted when the test is done, whatever happened.
public final class NamedNamespace {
    public let name: String
    public var path: String { "/run/netns/\(name)" }

    public init() throws {
        name = "swt-\(getpid())-\(UUID().uuidString.prefix(8))"
        let result = try Run.program("/usr/sbin/ip", ["netns", "add", name])
        guard result.status == 0 else {
            throw NSError(
                domain: "netns", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: result.stderr])
        }
    }

    deinit { _ = try? Run.program("/usr/sbin/ip", ["netns", "del", name]) }

    /// Runs a shell script inside the namespace.
    @discardableResult
    public func run(_ script: String) throws -> ProcessResult {
        try Run.program("/usr/sbin/ip", ["netns", "exec", name, "/bin/bash", "-c", "set -e\n" + script])
    }
}

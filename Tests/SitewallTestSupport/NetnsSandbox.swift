import Foundation

/// Runs shell scripts inside a network namespace of their own (`unshare --net`), never in the
/// machine's namespace: the namespace lives exactly as long as the script, so nothing can leak.
public enum NetnsSandbox {
    /// Why kernel tests cannot run here, or nil if they can.
    public static let unavailableReason: String? = {
        for tool in ["/usr/bin/unshare", "/usr/sbin/nft"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt-get install util-linux nftables)"
        }
        guard let probe = try? Run.program("/usr/bin/unshare", ["--net", "/usr/sbin/nft", "list", "ruleset"]) else {
            return "cannot run unshare"
        }
        if probe.status != 0 {
            return "cannot create a network namespace (need root or CAP_SYS_ADMIN): \(probe.stderr)"
        }
        return nil
    }()

    public static var isAvailable: Bool { unavailableReason == nil }

    /// Under CI the kernel tests are the proof: they must not be skipped there.
    public static var mustRun: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Runs `script` with bash in a fresh network namespace.
    public static func run(_ script: String) throws -> ProcessResult {
        try Run.program("/usr/bin/unshare", ["--net", "/bin/bash", "-c", "set -e\n" + script])
    }
}

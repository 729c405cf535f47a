import Foundation
import SitewallCore
import Testing

extension Trait where Self == ConditionTrait {
    /// Kernel tests run where network namespaces can be made; elsewhere they are skipped as skipped,
    /// except under CI=true, where they run and fail if the lab cannot be had.
    public static var kernel: Self {
        .enabled(
            if: NetnsSandbox.isAvailable || NetnsSandbox.mustRun,
            "needs network namespaces (root): \(NetnsSandbox.unavailableReason ?? "")")
    }
}

/// Shell scripts that drive the built `sitewall` inside a private network namespace, with a
/// state folder and scratch files of their own.
public final class ApplyLab {
    public let scratch: ScratchDirectory
    public var state: String { scratch.file("state") }

    public init() throws {
        scratch = try ScratchDirectory("sitewall-apply")
    }

    /// Defines $B (the binary), $S (the state folder), $T (scratch), `sw` (sitewall with the
    /// shipped profiles) and `swc` (confirm, rollback: no profiles), then runs `script`.
    public func run(_ script: String) throws -> ProcessResult {
        try NetnsSandbox.run(prelude + script)
    }

    public var prelude: String {
        """
        B='\(Repository.executable)'; P='\(Repository.profiles)'; S='\(state)'; T='\(scratch.path)'
        E='\(Repository.examples)'
        sw() { "$B" "$@" --profiles "$P" --state-directory "$S"; }
        swc() { "$B" "$@" --state-directory "$S"; }
        stateDir() { echo "$S/netns-$(stat -L -c %i /proc/self/ns/net)"; }
        same() { if cmp -s "$1" "$2"; then echo old; else echo new; fi; }

        """
    }

    public func write(_ name: String, _ text: String) throws {
        try text.write(toFile: scratch.file(name), atomically: true, encoding: .utf8)
    }
}

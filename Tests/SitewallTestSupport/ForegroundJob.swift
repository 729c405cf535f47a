import Foundation
import SitewallCore

/// A program started as a shell starts a foreground job: the leader of a process group of its own,
/// with every signal's default handling (whatever the test runner ignores), output to files. Unlike
/// Foundation's Process, waiting for it does not depend on what it leaves running.
public final class ForegroundJob {
    public let pid: pid_t
    public let stderrPath: String

    public init(_ path: String, _ arguments: [String], stderr: String) throws {
        stderrPath = stderr
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard status == 0 else { throw CocoaError(.executableLoad, userInfo: ["path": path, "errno": status]) }
        self.pid = pid
    }

    /// Its exit status (128 + the signal that ended it), or nil while it still runs.
    public private(set) var status: Int32?

    /// Waits up to `seconds` for it to end; its status, or nil if it still runs.
    @discardableResult
    public func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while status == nil {
            var code: Int32 = 0
            if waitpid(pid, &code, WNOHANG) == pid {
                status = (code & 0x7f) == 0 ? (code >> 8) & 0xff : 128 + (code & 0x7f)
            } else if Date() >= deadline {
                break
            } else {
                usleep(20_000)
            }
        }
        return status
    }

    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    deinit {
        if wait(seconds: 0) == nil {
            kill(-pid, SIGKILL)
            wait(seconds: 5)
        }
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to completion and captures its output (ip, nft, setsid, and the tests' runs).
/// Built on posix_spawn and poll rather than Foundation's Process, whose run-loop wake-up needs
/// a loopback socket: in a fresh network namespace (loopback down) Process can hang.
public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var path: String
        public var code: Int32
        public var description: String { "cannot run \(path): \(String(cString: strerror(code)))" }
    }

    /// Starts a program with /dev/null for its standard streams and waits for it (not for what it
    /// leaves running: `setsid -f` returns at once), so that nothing of ours is held open.
    public static func detached(_ path: String, _ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard status == 0 else { throw SpawnError(path: path, code: status) }
        var code: Int32 = 0
        while waitpid(pid, &code, 0) < 0 && errno == EINTR {}
        return (code & 0x7f) == 0 ? (code >> 8) & 0xff : 128 + (code & 0x7f)
    }

    public static func run(_ path: String, _ arguments: [String], stdin: String? = nil) throws -> Result {
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        var errors: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&output) == 0, pipe(&errors) == 0 else {
            throw SpawnError(path: path, code: errno)
        }
        // Only the child's copies (dup2'd onto 0, 1, 2) may survive exec.
        for fd in input + output + errors { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, argv, environ)
        close(input[0])
        close(output[1])
        close(errors[1])
        guard status == 0 else {
            close(input[1])
            close(output[0])
            close(errors[0])
            throw SpawnError(path: path, code: status)
        }
        // Feed stdin and drain both outputs together, so that no pipe can fill and block the child.
        var pending = Array((stdin ?? "").utf8)
        var written = 0
        if pending.isEmpty { close(input[1]) } else { _ = fcntl(input[1], F_SETFL, O_NONBLOCK) }
        var out = [UInt8]()
        var err = [UInt8]()
        var open = [output[0], errors[0]]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty || written < pending.count {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if written < pending.count { fds.append(pollfd(fd: input[1], events: Int16(POLLOUT), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 else { if errno == EINTR { continue } else { break } }
            for entry in fds where entry.revents != 0 {
                if entry.fd == input[1] {
                    let n = pending[written...].withUnsafeBytes { write(input[1], $0.baseAddress, $0.count) }
                    if n > 0 { written += n }
                    if n < 0 && errno != EAGAIN { written = pending.count }
                    if written >= pending.count {
                        close(input[1])
                        pending = []
                        written = 0
                    }
                    continue
                }
                let n = read(entry.fd, &buffer, buffer.count)
                if n > 0 {
                    if entry.fd == output[0] { out += buffer[0..<n] } else { err += buffer[0..<n] }
                } else if n == 0 || errno != EINTR {
                    close(entry.fd)
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        var code: Int32 = 0
        while waitpid(pid, &code, 0) < 0 && errno == EINTR {}
        let exit = (code & 0x7f) == 0 ? (code >> 8) & 0xff : 128 + (code & 0x7f)
        return Result(
            status: exit, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }
}

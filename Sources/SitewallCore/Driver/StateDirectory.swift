import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The folder where `apply --confirm` keeps what the rollback needs. It is root's own (0700, owned by
/// the caller), opened once, and every file in it is reached through that descriptor with
/// O_NOFOLLOW, written to a fresh temporary name (O_EXCL) and renamed into place, with a fixed mode
/// whatever the umask: no planted link or file can redirect a write or feed a rollback.
public final class StateDirectory {
    public struct Unsafe: Error, CustomStringConvertible {
        public var description: String
    }

    public let path: String
    let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    /// Opens this network namespace's folder under `base` (creating both), verified as safe.
    public static func open(base: String) throws -> StateDirectory {
        let baseFD = try openVerified(path: base, parent: AT_FDCWD, name: base)
        defer { close(baseFD) }
        let name = "netns-\(namespaceID())"
        let fd = try openVerified(path: base + "/" + name, parent: baseFD, name: name)
        return StateDirectory(path: base + "/" + name, fd: fd)
    }

    /// The inode of this process's network namespace: namespaces do not share state.
    public static func namespaceID() -> String {
        var info = stat()
        return stat("/proc/self/ns/net", &info) == 0 ? String(info.st_ino) : "default"
    }

    private static let permissionFix =
        "\n  fix: run as root (apply, confirm and rollback change the ruleset), or pass --state-directory a folder "
        + "only you may write"

    /// Creates (0700) or opens a directory without following a link, then checks it is ours alone.
    private static func openVerified(path: String, parent: Int32, name: String) throws -> Int32 {
        if parent == AT_FDCWD {
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) {
                do {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                } catch {
                    throw Unsafe(description: "cannot create the state directory \(path)" + permissionFix)
                }
            }
        }
        if mkdirat(parent, name, 0o700) != 0 && errno != EEXIST {
            let code = errno
            let fix = code == EACCES || code == EPERM ? permissionFix : ""
            throw Unsafe(
                description: "cannot create the state directory \(path): \(String(cString: strerror(code)))" + fix)
        }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == EACCES || code == EPERM {
                throw Unsafe(
                    description: "cannot open the state directory \(path): \(String(cString: strerror(code)))"
                        + permissionFix)
            }
            let reason =
                code == ELOOP || code == ENOTDIR
                ? "it is a symbolic link or not a directory"
                : String(cString: strerror(code))
            throw Unsafe(description: "refusing the state directory \(path): \(reason); remove it and try again")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw Unsafe(description: "cannot inspect \(path)")
        }
        if info.st_uid != geteuid() || info.st_mode & 0o022 != 0 {
            close(fd)
            throw Unsafe(
                description: "refusing the state directory \(path): it is owned by uid \(info.st_uid) with mode "
                    + String(info.st_mode & 0o7777, radix: 8) + "; it must belong to uid \(geteuid()) and be writable "
                    + "by it alone (remove it and sitewall creates it 0700)")
        }
        if info.st_mode & 0o077 != 0 { fchmod(fd, 0o700) }
        return fd
    }

    // MARK: files

    /// Writes a file whole (temporary name, then rename), mode 0600.
    public func write(_ name: String, _ bytes: [UInt8]) throws {
        if let step = FileDescriptor.replace(
            in: fd, name: name, temporaryPrefix: ".\(name).", bytes: bytes, mode: 0o600)
        {
            throw failure(step == "writing" ? step : "creating a temporary file for", name)
        }
    }

    public func write(_ name: String, text: String) throws { try write(name, Array(text.utf8)) }

    /// A regular file's bytes; nil when it does not exist. Links and non-regular files are refused.
    public func read(_ name: String) throws -> [UInt8]? {
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if file < 0 && errno == ENOENT { return nil }
        guard file >= 0 else { throw failure("opening", name) }
        defer { close(file) }
        var info = stat()
        guard fstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else {
            throw Unsafe(description: "refusing \(path)/\(name): not a regular file of uid \(geteuid())")
        }
        return try FileDescriptor.readAll(file, what: "\(path)/\(name)")
    }

    public func readText(_ name: String) throws -> String? {
        try read(name).map { String(decoding: $0, as: UTF8.self) }
    }

    public func remove(_ name: String) { unlinkat(fd, name, 0) }

    /// Appends one line to a log (created 0600, never through a link).
    public func appendLine(_ name: String, _ line: String) {
        let file = openOwn(name, O_WRONLY | O_APPEND)
        guard file >= 0 else { return }
        fchmod(file, 0o600)
        _ = FileDescriptor.writeAll(file, Array((line + "\n").utf8))
        close(file)
    }

    /// Names in the folder.
    public func names() -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let listing = fdopendir(copy) else { return [] }
        defer { closedir(listing) }
        rewinddir(listing)
        var result: [String] = []
        while let entry = readdir(listing) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { result.append(name) }
        }
        return result
    }

    /// Opens (creating) a file of ours that other files are not renamed over (a lock, the log). Whatever
    /// else stands at its name (a link, a FIFO: only root could have put it in this folder) is removed.
    private func openOwn(_ name: String, _ flags: Int32) -> Int32 {
        for _ in 0..<2 {
            let file = openat(fd, name, flags | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
            var info = stat()
            if file >= 0 && fstat(file, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_uid == geteuid() {
                return file
            }
            let code = file >= 0 ? EEXIST : errno
            if file >= 0 { close(file) }
            guard code == ELOOP || code == EEXIST || code == ENXIO || code == EISDIR else {
                errno = code
                return -1
            }
            unlinkat(fd, name, 0)
        }
        return -1
    }

    // MARK: locks

    /// An exclusive flock on a file of this folder; nil with `wait: 0` when another process holds it.
    public func lock(_ name: String, wait seconds: Double) throws -> FileLock? {
        let file = openOwn(name, O_RDWR)
        guard file >= 0 else { throw failure("opening the lock", name) }
        fchmod(file, 0o600)
        let until = Date().addingTimeInterval(seconds)
        while flock(file, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Date() < until else {
                close(file)
                return nil
            }
            usleep(20_000)
        }
        return FileLock(fd: file)
    }

    /// True when some process holds the lock (a live watchdog holds its own for its whole life).
    public func isHeld(_ name: String) -> Bool {
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard file >= 0 else { return false }
        defer { close(file) }
        if flock(file, LOCK_SH | LOCK_NB) == 0 {
            flock(file, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }

    // MARK: housekeeping

    /// Removes the folders of network namespaces that no longer exist (their rules went with them).
    public static func removeStale(base: String) {
        let live = liveNamespaceIDs()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: base) else { return }
        let baseFD = Glibc.open(base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard baseFD >= 0 else { return }
        defer { close(baseFD) }
        for entry in entries where entry.hasPrefix("netns-") && !live.contains(String(entry.dropFirst(6))) {
            let fd = openat(baseFD, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let folder = StateDirectory(path: base + "/" + entry, fd: fd)
            for name in folder.names() { folder.remove(name) }
            unlinkat(baseFD, entry, AT_REMOVEDIR)
        }
    }

    /// Inodes of every network namespace a process is in or that is bound under /run/netns.
    static func liveNamespaceIDs() -> Set<String> {
        var ids: Set<String> = []
        var info = stat()
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        where pid.allSatisfy(\.isNumber) {
            if stat("/proc/\(pid)/ns/net", &info) == 0 { ids.insert(String(info.st_ino)) }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [] {
            if stat("/run/netns/\(name)", &info) == 0 { ids.insert(String(info.st_ino)) }
        }
        return ids
    }

    private func failure(_ what: String, _ name: String) -> Unsafe {
        Unsafe(description: "\(what) \(path)/\(name) failed: \(String(cString: strerror(errno)))")
    }
}

/// A held flock, released on `release()` or when the process dies.
public final class FileLock {
    let fd: Int32
    private var released = false

    init(fd: Int32) { self.fd = fd }

    public func release() {
        guard !released else { return }
        released = true
        flock(fd, LOCK_UN)
        close(fd)
    }

    deinit { release() }
}

enum FileDescriptor {
    /// Writes `bytes` to a fresh file named `temporaryPrefix` + a random suffix (O_EXCL|O_NOFOLLOW, `mode`
    /// whatever the umask), syncs it and renames it to `name`, both relative to `directory` (AT_FDCWD: the
    /// working folder). nil when done; else the step that failed, with errno set (the temporary file is gone).
    static func replace(in directory: Int32, name: String, temporaryPrefix: String, bytes: [UInt8], mode: mode_t)
        -> String?
    {
        var random = SystemRandomNumberGenerator()
        let temporary = temporaryPrefix + String(random.next(), radix: 36)
        let file = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard file >= 0 else { return "creating a temporary file next to it" }
        var ok = fchmod(file, mode) == 0 && writeAll(file, bytes) && fsync(file) == 0
        var code = errno
        close(file)
        if ok {
            ok = renameat(directory, temporary, directory, name) == 0
            code = errno
        }
        guard ok else {
            unlinkat(directory, temporary, 0)
            errno = code
            return "writing"
        }
        return nil
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    static func readAll(_ fd: Int32, what: String) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, 65536) }
            if got < 0 {
                if errno == EINTR { continue }
                throw StateDirectory.Unsafe(description: "reading \(what) failed")
            }
            if got == 0 { return result }
            result += chunk[0..<got]
        }
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes output files (compile --output, apply --persist) whole or not at all, and safely: a new
/// file is written under a fresh random name (O_EXCL|O_NOFOLLOW) in the same folder and renamed into
/// place; a device, FIFO or socket (/dev/stdout, /dev/null) is written directly and never replaced;
/// a symbolic link to a file is refused, so a link planted in a shared folder cannot redirect a write.
public enum FileOutput {
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    public static func writeAtomically(_ text: String, to path: String) throws {
        let bytes = Array(text.utf8)
        var info = stat()
        var mode: mode_t = 0o644
        if lstat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                mode = info.st_mode & 0o777
            case S_IFLNK, S_IFCHR, S_IFIFO, S_IFSOCK:
                return try writeDirectly(bytes, to: path, isLink: info.st_mode & S_IFMT == S_IFLNK)
            case S_IFDIR:
                throw Refused(description: "cannot write \(path): it is a directory; give a file name")
            default:
                throw Refused(
                    description: "cannot write \(path): it is not a regular file, and sitewall does not replace it")
            }
        }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try makeFolders(folder, for: path) }
        let prefix = (folder.isEmpty ? "" : folder + "/") + ".\((path as NSString).lastPathComponent).sitewall-"
        if let step = FileDescriptor.replace(
            in: AT_FDCWD, name: path, temporaryPrefix: prefix, bytes: bytes, mode: mode)
        {
            throw failure(path, step == "writing" ? nil : step)
        }
    }

    /// A device, FIFO or socket takes the bytes as they are; a link is followed only to one of those.
    private static func writeDirectly(_ bytes: [UInt8], to path: String, isLink: Bool) throws {
        let fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | (isLink ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { throw failure(path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(path) }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFCHR || kind == S_IFIFO || kind == S_IFSOCK else {
            throw Refused(
                description: "cannot write \(path): it is a symbolic link to a file, and sitewall does not "
                    + "write through links (give the real path, or remove the link)")
        }
        guard FileDescriptor.writeAll(fd, bytes) else { throw failure(path) }
    }

    /// Creates missing folders (0755) one level at a time, saying which one failed and why.
    static func makeFolders(_ folder: String, for path: String) throws {
        var info = stat()
        if stat(folder, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw Refused(description: "cannot write \(path): \(folder) is not a folder")
            }
            return
        }
        let parent = (folder as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != folder { try makeFolders(parent, for: path) }
        guard mkdir(folder, 0o755) == 0 || errno == EEXIST else {
            throw failure(path, "creating the folder \(folder)")
        }
    }

    static func failure(_ path: String, _ step: String? = nil) -> Refused {
        Refused(
            description: "cannot write \(path): " + (step.map { $0 + ": " } ?? "") + String(cString: strerror(errno)))
    }
}

import CSitewallLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The folder `compile --all` writes, replaced whole: files go into a fresh hidden folder next to it,
/// which then takes the folder's place in one step (renameat2 RENAME_EXCHANGE). A failure on the way
/// leaves the previous folder as it was; afterwards no file of a target that left the site remains.
/// The folder is sitewall's: one that holds anything else (another kind of file, a link, a folder)
/// is refused rather than replaced.
public struct OutputFolder {
    /// What compile writes: NAME.nft, NAME.v4/.v6 (iptables), NAME.json.
    public static let suffixes = ["nft", "v4", "v6", "json"]

    public let path: String
    let staging: String
    let previous: [String]?
    public private(set) var written: [String] = []

    /// Checks `path` and creates the staging folder next to it.
    public init(replacing path: String) throws {
        self.path = path
        var info = stat()
        var mode: mode_t = 0o755
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                let what = info.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : "not a folder"
                throw FileOutput.Refused(
                    description: "cannot write to \(path): it is \(what); give the path of a folder (new or "
                        + "one sitewall wrote before)")
            }
            mode = info.st_mode & 0o7777
            previous = try Self.ownFiles(in: path)
        } else {
            previous = nil
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty { try FileOutput.makeFolders(parent, for: path) }
        var random = SystemRandomNumberGenerator()
        let base = (path as NSString).lastPathComponent
        staging = (parent.isEmpty ? "" : parent + "/") + ".\(base).sitewall-\(String(random.next(), radix: 36))"
        guard mkdir(staging, 0o700) == 0 else { throw FileOutput.failure(path, "creating a folder next to it") }
        guard chmod(staging, mode) == 0 else {
            let failure = FileOutput.failure(path, "setting the new folder's mode")
            rmdir(staging)
            throw failure
        }
    }

    /// The files of a folder sitewall wrote; anything else there is a reason not to replace it.
    private static func ownFiles(in path: String) throws -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            throw FileOutput.failure(path, "reading the folder")
        }
        var own: [String] = []
        for name in names.sorted() {
            var info = stat()
            let isFile = lstat(path + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
            guard isFile, !name.hasPrefix("."), suffixes.contains((name as NSString).pathExtension) else {
                throw FileOutput.Refused(
                    description: "cannot replace \(path): it holds '\(name)', which compile does not write; "
                        + "sitewall replaces the whole folder (so that targets no longer in the site leave "
                        + "no file behind): give a new folder, or move '\(name)' out")
            }
            own.append(name)
        }
        return own
    }

    /// Writes one file into the new folder (a fresh name: O_EXCL, no links followed).
    public mutating func write(_ text: String, name: String) throws {
        let file = open(staging + "/" + name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard file >= 0 else { throw FileOutput.failure(path + "/" + name) }
        defer { close(file) }
        guard fchmod(file, 0o644) == 0, FileDescriptor.writeAll(file, Array(text.utf8)) else {
            throw FileOutput.failure(path + "/" + name)
        }
        written.append(name)
    }

    /// Removes the new folder; the old one was never touched.
    public func abandon() {
        Self.remove(staging, files: written)
    }

    /// Puts the new folder in place of the old one and removes the old one. Returns the files the old
    /// folder had that the new one does not (targets no longer in the site).
    public func commit() throws -> [String] {
        let folder = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let synced = folder >= 0 && CSitewallLinux_syncfs(folder) == 0
        if folder >= 0 { close(folder) }
        guard synced else {
            let failure = FileOutput.failure(path, "flushing the new files to disk")
            abandon()
            throw failure
        }
        if let previous {
            if CSitewallLinux_exchange(staging, path) != 0 {
                let failure = FileOutput.failure(path, "putting the new folder in its place")
                abandon()
                throw failure
            }
            // The old folder now has the staging name.
            Self.remove(staging, files: previous)
            let kept = Set(written)
            return previous.filter { !kept.contains($0) }
        }
        guard rename(staging, path) == 0 else {
            let failure = FileOutput.failure(path, "putting the new folder in its place")
            abandon()
            throw failure
        }
        return []
    }

    private static func remove(_ folder: String, files: [String]) {
        for name in files { unlink(folder + "/" + name) }
        rmdir(folder)
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads an input file whole, refusing one past a size limit before reading it (a regular file by its
/// size, a pipe or device as soon as it has given more).
enum FileInput {
    enum Failure: Error {
        case unreadable
        case tooLarge(Int)
    }

    static func read(_ path: String, maximumBytes: Int) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT != S_IFDIR else { throw .unreadable }
        if info.st_mode & S_IFMT == S_IFREG && Int(info.st_size) > maximumBytes { throw .tooLarge(Int(info.st_size)) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(info.st_mode & S_IFMT == S_IFREG ? Int(info.st_size) : 65536)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw .unreadable
            }
            if got == 0 { return bytes }
            bytes += chunk[0..<got]
            if bytes.count > maximumBytes { throw .tooLarge(bytes.count) }
        }
    }
}

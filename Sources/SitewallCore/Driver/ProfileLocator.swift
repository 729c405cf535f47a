import Foundation

/// The profile search path: folders named with --profiles, then those in $SITEWALL_PROFILES (a
/// colon-separated list), then the machine's /etc/sitewall/profiles, then the profiles sitewall
/// ships with (installed under share/sitewall/profiles, or the checkout the binary was built in).
/// A profile in an earlier folder replaces a shipped one of the same name.
public enum ProfileLocator {
    /// Where a machine keeps its own profiles; skipped when it does not exist.
    public static let machineFolder = "/etc/sitewall/profiles"

    /// The variable the path reads, without copying the whole environment into a dictionary.
    public static var environment: [String: String] {
        getenv("SITEWALL_PROFILES").map { ["SITEWALL_PROFILES": String(cString: $0)] } ?? [:]
    }

    public static func path(explicit: [String], environment: [String: String] = environment) -> [ProfileFolder] {
        var folders = explicit.map { ProfileFolder($0) }
        let listed = environment["SITEWALL_PROFILES"]?.split(separator: ":").map(String.init) ?? []
        folders += listed.filter { !$0.isEmpty }.map { ProfileFolder($0) }
        folders.append(ProfileFolder(machineFolder, required: false))
        if let shipped = shipped { folders.append(ProfileFolder(shipped, required: false)) }
        return folders
    }

    /// The profiles that came with this binary: `../share/sitewall/profiles` beside an installed
    /// binary, or the Profiles/ folder of the checkout it was built in.
    public static var shipped: String? { shippedFolder }

    private static let shippedFolder: String? = {
        // The running binary itself: argv[0] is a bare name when the binary was found on PATH.
        let path =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? "."
        let executable = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        var candidates = [directory.appendingPathComponent("../share/sitewall/profiles").standardized.path]
        for _ in 0..<6 {
            candidates.append(directory.appendingPathComponent("Profiles").path)
            directory = directory.deletingLastPathComponent()
        }
        var isDirectory: ObjCBool = false
        return candidates.first {
            FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }()
}

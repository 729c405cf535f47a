import Foundation

/// Finds the Profiles/ folder: an explicit path, $SITEWALL_PROFILES, an installed share folder,
/// or the checkout the binary was built in.
public enum ProfileLocator {
    public static func locate(explicit: String?) -> String {
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment["SITEWALL_PROFILES"], !env.isEmpty { return env }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        var candidates = [directory.appendingPathComponent("../share/sitewall/Profiles").standardized.path]
        for _ in 0..<6 {
            candidates.append(directory.appendingPathComponent("Profiles").path)
            directory = directory.deletingLastPathComponent()
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/Profiles")
        var isDirectory: ObjCBool = false
        return candidates.first {
            FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue
        }
            ?? "Profiles"
    }
}

import ArgumentParser
import Foundation
import SitewallCore

/// --host NAME | --gateway NAME | --target-file FILE, shared by the commands that act on one target.
struct TargetOptions: ParsableArguments {
    @Option(help: "This host.")
    var host: String?

    @Option(help: "This gateway.")
    var gateway: String?

    @Option(
        help: ArgumentHelp(
            "A file that names this machine's target in the site: 'host NAME' or 'gateway NAME' (the boot unit "
                + "reads /etc/sitewall/target).", valueName: "file"))
    var targetFile: String?

    var kind: Target.Kind { host != nil ? .host : gateway != nil ? .gateway : fromFile?.kind ?? .gateway }
    var name: String { host ?? gateway ?? fromFile?.name ?? "" }

    private var fromFile: (kind: Target.Kind, name: String)? {
        targetFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }.flatMap(Self.parse)
    }

    /// The first line that is not blank or a # comment: "host NAME" or "gateway NAME".
    static func parse(_ text: String) -> (kind: Target.Kind, name: String)? {
        let line = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .first { !$0.isEmpty && !$0.hasPrefix("#") }
        let words = line?.split(whereSeparator: \.isWhitespace).map(String.init) ?? []
        guard words.count == 2 else { return nil }
        switch words[0] {
        case "host": return (.host, words[1])
        case "gateway": return (.gateway, words[1])
        default: return nil
        }
    }

    func validate() throws {
        guard [host, gateway, targetFile].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --host NAME, --gateway NAME or --target-file FILE")
        }
        if let targetFile {
            guard let text = try? String(contentsOfFile: targetFile, encoding: .utf8) else {
                throw ValidationError("cannot read --target-file '\(targetFile)'")
            }
            guard Self.parse(text) != nil else {
                throw ValidationError(
                    "\(targetFile): expected one line 'host NAME' or 'gateway NAME' (the target's name in the site)")
            }
        }
    }
}

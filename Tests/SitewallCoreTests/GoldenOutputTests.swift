import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// The nft, iptables and JSON output of every target of every shipped example, against the files in
/// Tests/Golden. A mismatch writes the new output next to the golden file as `.actual`; after
/// reviewing it, `SITEWALL_UPDATE_GOLDEN=1 swift test --filter GoldenOutputTests` accepts it.
@Suite struct GoldenOutputTests {
    struct Output: CustomStringConvertible, Sendable {
        var example: String
        var file: String
        var text: String
        var description: String { "\(example)/\(file)" }
    }

    static func outputs(_ example: String) throws -> [Output] {
        let workspace = try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        var outputs: [Output] = []
        for target in workspace.compiler.targets {
            let policy = workspace.policy(for: target)
            outputs.append(Output(example: example, file: "\(target.name).nft", text: NftBackend.render(policy)))
            for (family, suffix) in [(IPFamily.ipv4, "v4"), (.ipv6, "v6")] {
                // What iptables cannot say (a Modbus operation filter) is refused: the golden file keeps why.
                let text: String
                do {
                    text = try IptablesBackend.render(policy, family: family, options: .init())
                } catch let error as IptablesBackend.Unsupported {
                    text = "refused: \(error)\n"
                }
                outputs.append(Output(example: example, file: "\(target.name).\(suffix)", text: text))
            }
            outputs.append(
                Output(example: example, file: "\(target.name).json", text: try PolicyJSONBackend.render(policy)))
        }
        // The audit report, with the repository's folder taken out of its site lines.
        let report = try SiteReport(workspace, generator: "sitewall (golden)")
        for format in [SiteReport.Format.html, .md, .csv] {
            let text = try report.rendered(as: format).replacingOccurrences(of: Repository.root + "/", with: "")
            outputs.append(Output(example: example, file: "report.\(format.rawValue)", text: text))
        }
        return outputs
    }

    static var folder: String { Repository.root + "/Tests/Golden" }

    @Test(arguments: Repository.exampleNames)
    func outputMatchesTheGoldenFiles(_ example: String) throws {
        let outputs = try Self.outputs(example)
        let update = ProcessInfo.processInfo.environment["SITEWALL_UPDATE_GOLDEN"] == "1"
        for output in outputs {
            let path = "\(Self.folder)/\(example)/\(output.file)"
            if update {
                try FileManager.default.createDirectory(
                    atPath: "\(Self.folder)/\(example)", withIntermediateDirectories: true)
                try output.text.write(toFile: path, atomically: true, encoding: .utf8)
                continue
            }
            let golden = try? String(contentsOfFile: path, encoding: .utf8)
            if golden != output.text {
                try output.text.write(toFile: path + ".actual", atomically: true, encoding: .utf8)
                Issue.record("\(output) differs from its golden file (new output in \(path).actual)")
            } else {
                try? FileManager.default.removeItem(atPath: path + ".actual")
            }
        }
        // Every golden file still has a target: a removed host leaves no stale file behind.
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(Self.folder)/\(example)")
            .filter { !$0.hasSuffix(".actual") }
        #expect(Set(files) == Set(outputs.map(\.file)))
    }
}

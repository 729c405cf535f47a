import Foundation

/// Renders the files of many targets (`compile --all`). Targets of one class share one compiled table
/// (see `PolicyCompiler.classKey`), so their files differ only in the header line that names the
/// target: each class is rendered once and its files are copied with that line changed. Rendering
/// every host anew costs each host the size of its peer sets, which grows with the site.
public struct ClassRenderer {
    public typealias Files = [(suffix: String, text: String)]

    private let compiler: PolicyCompiler
    private let render: (Policy) throws -> Files
    private var byClass: [[PolicyCompiler.Membership]: (target: Target, files: Files)] = [:]

    public init(compiler: PolicyCompiler, render: @escaping (Policy) throws -> Files) {
        self.compiler = compiler
        self.render = render
    }

    public mutating func files(for policy: Policy) throws -> Files {
        let key = compiler.classKey(of: policy.target)
        if let key, let cached = byClass[key],
            let files = Self.retarget(cached.files, site: policy.site, from: cached.target, to: policy.target)
        {
            return files
        }
        let files = try render(policy)
        if let key, byClass.count < TableCache.capacity { byClass[key] = (policy.target, files) }
        return files
    }

    /// The files with the header's target changed; nil when a file names its target elsewhere than
    /// on a `# sitewall: site SITE, TARGET` line (the JSON policy does): then it is rendered anew.
    static func retarget(_ files: Files, site: String, from old: Target, to new: Target) -> Files? {
        let before = "# sitewall: site \(site), \(old)"
        let after = "# sitewall: site \(site), \(new)"
        var result: Files = []
        for file in files {
            // The header comes first in every file; a rule comment cannot come before it.
            guard let range = file.text.range(of: before),
                file.text[range.upperBound...].first.map({ $0 == "," || $0 == "\n" }) ?? false
            else { return nil }
            result.append((file.suffix, file.text.replacingCharacters(in: range, with: after)))
        }
        return result
    }
}

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
    /// on a `# sitewall: site SITE, TARGET` line among its first lines (the JSON policy does): then
    /// it is rendered anew. Only that line is read and the rest copied as bytes.
    static func retarget(_ files: Files, site: String, from old: Target, to new: Target) -> Files? {
        let before = "# sitewall: site \(site), \(old)"
        let after = "# sitewall: site \(site), \(new)"
        var result: Files = []
        for file in files {
            let text = file.text.utf8
            var start = text.startIndex
            var found: String.Index?
            for _ in 0..<4 {
                guard let end = text[start...].firstIndex(of: UInt8(ascii: "\n")) else { break }
                let line = file.text[start..<end]
                if line == before || line.hasPrefix(before + ",") {
                    found = start
                    break
                }
                start = text.index(after: end)
            }
            guard let found else { return nil }
            let rest = text.index(found, offsetBy: before.utf8.count)
            var copy = String(file.text[..<found])
            copy.reserveCapacity(file.text.utf8.count + after.utf8.count)
            copy += after
            copy += file.text[rest...]
            result.append((file.suffix, copy))
        }
        return result
    }
}

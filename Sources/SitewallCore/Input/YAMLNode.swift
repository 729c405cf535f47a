import Foundation

/// A node of a composed YAML file that knows its file, so every value can report file:line:column.
public struct YAMLNode {
    let tree: YAMLTree
    let index: Int32
    /// The file's name is the tree's: a node is copied often, and one reference is cheaper than two.
    var file: String { tree.file }

    private var node: YAMLTree.Node { tree.node(index) }

    var location: SourceLocation? {
        SourceLocation(file: file, line: Int(node.line), column: Int(node.column))
    }

    /// The largest file read unless the caller says otherwise (SITEWALL_MAX_INPUT_MIB overrides it).
    static let defaultMaximumBytes = 256 << 20

    public static var maximumBytes: Int {
        // getenv: ProcessInfo's environment copies every variable into a dictionary first.
        if let value = getenv("SITEWALL_MAX_INPUT_MIB"), let mib = Int(String(cString: value)), mib > 0 {
            return mib << 20
        }
        return defaultMaximumBytes
    }

    /// Reads and composes a file; syntax errors become diagnostics with the parser's position.
    static func load(
        file path: String, displayName: String, log: inout DiagnosticLog, maximumBytes limit: Int = maximumBytes
    ) -> YAMLNode? {
        let bytes: [UInt8]
        do {
            bytes = try FileInput.read(path, maximumBytes: limit)
        } catch FileInput.Failure.tooLarge(let size) {
            log.error(
                "'\(path)' is \(size >> 20) MiB, more than sitewall reads (\(limit >> 20) MiB)",
                at: SourceLocation(file: displayName, line: 1, column: 1),
                fix: "split the site, or raise the limit with SITEWALL_MAX_INPUT_MIB=N")
            return nil
        } catch {
            log.error("cannot read '\(path)'", at: nil, fix: "check the path and that the file is readable")
            return nil
        }
        return parse(bytes, displayName: displayName, log: &log)
    }

    static func parse(_ text: String, displayName: String, log: inout DiagnosticLog) -> YAMLNode? {
        parse(Array(text.utf8), displayName: displayName, log: &log)
    }

    static func parse(_ bytes: [UInt8], displayName: String, log: inout DiagnosticLog) -> YAMLNode? {
        let at = { (line: Int, column: Int) in SourceLocation(file: displayName, line: line, column: column) }
        let tree: YAMLTree
        do throws(YAMLTree.Failure) {
            tree = try YAMLTree.compose(bytes, file: displayName)
        } catch {
            switch error {
            case .empty:
                log.error("the file is empty", at: at(1, 1))
            case .tooLarge(let line, let column):
                log.error(
                    "the values of this file take more than 2 GiB, more than sitewall reads", at: at(line, column),
                    fix: "split the site into smaller files")
            case .duplicateKey(let key, let line, let column, let mappingLine):
                log.error(
                    "'\(key)' appears twice in the same mapping", at: at(line, column),
                    fix: "merge the two entries or rename one; the mapping starts at line \(mappingLine)")
            case .aliasExpansion(let expanded, let written, let line, let column):
                log.error(
                    "aliases expand this file past \(expanded) values (it has \(written) written out): refused",
                    at: at(line, column), fix: "write the repeated parts out, or nest fewer aliases")
            case .syntax(let problem, let line, let column):
                log.error(
                    "YAML syntax: \(problem)", at: at(line, column),
                    fix: "check indentation, colons and brackets near this position")
            }
            return nil
        }
        return YAMLNode(tree: tree, index: tree.root)
    }

    var scalarText: String? {
        let node = self.node
        return node.kind == .scalar ? tree.string(node) : nil
    }

    var isMapping: Bool { node.kind == .mapping }

    var isNull: Bool {
        let node = self.node
        return node.kind == .scalar && node.plain
            && (node.count == 0 || tree.scalar(node, is: "~") || tree.scalar(node, is: "null"))
    }

    /// The entries of a mapping, in file order (the composer has refused a key written twice).
    func entries(_ what: @autoclosure () -> String, log: inout DiagnosticLog) -> [(
        key: String, keyNode: YAMLNode, value: YAMLNode
    )]? {
        var result: [(String, YAMLNode, YAMLNode)] = []
        let read = eachPair(what(), log: &log) { keyNode, value, _ in
            result.append((tree.string(keyNode.node), keyNode, value))
        }
        return read ? result : nil
    }

    /// Calls `body` with each entry of a mapping whose key is a single value; false (reported) if the
    /// node is no mapping. Keys stay in the tree: a `String` is made only by those who need one.
    private func eachPair(
        _ what: @autoclosure () -> String, log: inout DiagnosticLog,
        _ body: (YAMLNode, YAMLNode, inout DiagnosticLog) -> Void
    ) -> Bool {
        guard node.kind == .mapping else {
            log.error("\(what()) must be a mapping (key: value)", at: location)
            return false
        }
        let items = tree.items(of: index)
        for pair in stride(from: items.startIndex, to: items.endIndex, by: 2) {
            let keyNode = YAMLNode(tree: tree, index: items[pair])
            guard keyNode.node.kind == .scalar else {
                log.error("\(what()) has a key that is not a plain name", at: keyNode.location)
                continue
            }
            body(keyNode, YAMLNode(tree: tree, index: items[pair + 1]), &log)
        }
        return true
    }

    /// A mapping's values by key, read from the tree when asked: a mapping has a handful of keys, so a
    /// search in order costs less than building a table (or any array) for each of 50,000 hosts.
    struct Fields {
        fileprivate let mapping: YAMLNode
        /// The keys it may have: any other key was reported, and reads as absent.
        fileprivate let allowed: [StaticString]

        subscript(key: StaticString) -> YAMLNode? {
            guard allowed.contains(where: { Self.same($0, key) }) else { return nil }
            let tree = mapping.tree
            let items = tree.items(of: mapping.index)
            for pair in stride(from: items.startIndex, to: items.endIndex, by: 2) {
                let node = tree.node(items[pair])
                if node.kind == .scalar && tree.scalar(node, is: key) {
                    return YAMLNode(tree: tree, index: items[pair + 1])
                }
            }
            return nil
        }

        private static func same(_ a: StaticString, _ b: StaticString) -> Bool {
            a.utf8CodeUnitCount == b.utf8CodeUnitCount
                && (a.utf8Start == b.utf8Start || memcmp(a.utf8Start, b.utf8Start, a.utf8CodeUnitCount) == 0)
        }
    }

    /// A mapping whose keys must come from `allowed`; unknown keys are errors with a suggestion.
    func fields(_ what: @autoclosure () -> String, allowed: [StaticString], log: inout DiagnosticLog) -> Fields? {
        let read = eachPair(what(), log: &log) { keyNode, _, log in
            let key = keyNode.node
            guard !allowed.contains(where: { tree.scalar(key, is: $0) }) else { return }
            let name = tree.string(key)
            log.error(
                "unknown key '\(name)' in \(what())", at: keyNode.location,
                fix: DidYouMean.hint(for: name, among: allowed.map(\.description), kind: "key"))
        }
        return read ? Fields(mapping: self, allowed: allowed) : nil
    }

    /// A sequence's items; a single scalar counts as a one-item list.
    func list(_ what: @autoclosure () -> String, log: inout DiagnosticLog) -> [YAMLNode]? {
        var result: [YAMLNode] = []
        return eachItem(what(), log: &log) { item, _ in result.append(item) } ? result : nil
    }

    /// Calls `body` with each item of a list (a single scalar is one); false (reported) for a mapping.
    private func eachItem(
        _ what: @autoclosure () -> String, log: inout DiagnosticLog, _ body: (YAMLNode, inout DiagnosticLog) -> Void
    ) -> Bool {
        switch node.kind {
        case .sequence:
            for item in tree.items(of: index) { body(YAMLNode(tree: tree, index: item), &log) }
        case .scalar:
            body(self, &log)
        case .mapping:
            log.error("\(what()) must be a list", at: location)
            return false
        }
        return true
    }

    func string(_ what: @autoclosure () -> String, log: inout DiagnosticLog) -> String? {
        guard let text = scalarText else {
            log.error("\(what()) must be a single value", at: location)
            return nil
        }
        return text
    }

    func strings(_ what: @autoclosure () -> String, log: inout DiagnosticLog) -> [(String, YAMLNode)]? {
        var result: [(String, YAMLNode)] = []
        return eachString(what(), log: &log) { text, item, _ in result.append((text, item)) } ? result : nil
    }

    /// Calls `body` with each value of a list of single values (a single value is one); false
    /// (reported) for a mapping. Straight from the tree: every host's roles and addresses come here.
    func eachString(
        _ what: @autoclosure () -> String, log: inout DiagnosticLog,
        _ body: (String, YAMLNode, inout DiagnosticLog) -> Void
    ) -> Bool {
        eachItem(what(), log: &log) { item, log in
            if let text = item.string(what(), log: &log) { body(text, item, &log) }
        }
    }

    /// How many items a list has (a single value is one; a mapping none).
    var itemCount: Int {
        switch node.kind {
        case .sequence: Int(node.count)
        case .scalar: 1
        case .mapping: 0
        }
    }

    func bool(_ what: @autoclosure () -> String, log: inout DiagnosticLog) -> Bool? {
        switch scalarText?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            log.error("\(what()) must be true or false", at: location)
            return nil
        }
    }

    /// Ports: 2080, "2080-2088", "2080-2088,2073" or a list of those.
    func ports(_ what: @autoclosure () -> String, allowZero: Bool = false, log: inout DiagnosticLog) -> PortSet? {
        guard let items = list(what(), log: &log) else { return nil }
        var ranges: [PortRange] = []
        for item in items {
            guard let text = item.scalarText, let set = PortSet(text: text) else {
                log.error(
                    "\(what()): '\(item.scalarText ?? "?")' is not a port or port range (1-65535)", at: item.location,
                    fix: "write a port like 2080, a range like 2080-2088, or a list [2073, 3073]")
                return nil
            }
            if set.contains(0) && !allowZero {
                log.error("\(what()): port 0 cannot be opened", at: item.location, fix: "use a port from 1 to 65535")
                return nil
            }
            ranges += set.ranges
        }
        return PortSet(ranges)
    }
}

import Foundation
import Yams

/// A YAML node that knows its file, so every value can report file:line:column.
struct YAMLNode {
    let node: Node
    let file: String

    var location: SourceLocation? {
        node.mark.map { SourceLocation(file: file, line: $0.line, column: $0.column) }
    }

    /// Reads and composes a file; syntax errors become diagnostics with the parser's position.
    static func load(file path: String, displayName: String, log: inout DiagnosticLog) -> YAMLNode? {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            log.error("cannot read '\(path)'", at: nil, fix: "check the path and that the file is readable UTF-8 text")
            return nil
        }
        return parse(text, displayName: displayName, log: &log)
    }

    static func parse(_ text: String, displayName: String, log: inout DiagnosticLog) -> YAMLNode? {
        do {
            // The basic resolver: sitewall reads every scalar as text itself, and Yams' default
            // resolver runs regular expressions on each scalar (most of the parse time at scale).
            guard let node = try Yams.compose(yaml: text, .basic) else {
                log.error("the file is empty", at: SourceLocation(file: displayName, line: 1, column: 1))
                return nil
            }
            return YAMLNode(node: node, file: displayName)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            for key in duplicates.sorted() {
                let (line, column) = secondOccurrence(of: key, in: text, mappingAt: context.mark)
                log.error(
                    "'\(key)' appears twice in the same mapping",
                    at: SourceLocation(file: displayName, line: line, column: column),
                    fix: "merge the two entries or rename one; the mapping starts at line \(context.mark.line)")
            }
            return nil
        } catch let error as YamlError {
            log.error(
                "YAML syntax: \(yamlProblem(error))", at: yamlLocation(error, file: displayName),
                fix: "check indentation, colons and brackets near this position")
            return nil
        } catch {
            log.error("YAML syntax: \(error)", at: SourceLocation(file: displayName, line: 1, column: 1))
            return nil
        }
    }

    /// Where a duplicated block-mapping key is written the second time (the parser only gives the mapping).
    private static func secondOccurrence(of key: String, in text: String, mappingAt mark: Mark) -> (Int, Int) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = String(repeating: " ", count: max(0, mark.column - 1))
        var seen = 0
        for index in max(0, mark.line - 1)..<lines.count {
            let line = lines[index]
            for form in [key, "\"\(key)\"", "'\(key)'"] where line.hasPrefix(indent + form + ":") {
                seen += 1
                if seen == 2 { return (index + 1, mark.column) }
            }
        }
        return (mark.line, mark.column)
    }

    private static func yamlProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _):
            return [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
        case .parser(let context, let problem, _, _):
            return [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
        case .composer(let context, let problem, _, _):
            return [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
        default: return "\(error)"
        }
    }

    private static func yamlLocation(_ error: YamlError, file: String) -> SourceLocation {
        let mark: Mark?
        switch error {
        case .scanner(_, _, let m, _), .parser(_, _, let m, _), .composer(_, _, let m, _): mark = m
        default: mark = nil
        }
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    var scalarText: String? {
        if case .scalar(let scalar) = node { return scalar.string }
        return nil
    }

    var isNull: Bool {
        if case .scalar(let scalar) = node {
            return scalar.tag == .implicit && (scalar.string == "~" || scalar.string == "null" || scalar.string.isEmpty)
                && scalar.style == .plain
        }
        return false
    }

    /// The entries of a mapping, in file order. Reports a non-mapping and duplicate keys.
    func entries(_ what: String, log: inout DiagnosticLog) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)]? {
        guard case .mapping(let mapping) = node else {
            log.error("\(what) must be a mapping (key: value)", at: location)
            return nil
        }
        var seen: [String: SourceLocation?] = [:]
        var result: [(String, YAMLNode, YAMLNode)] = []
        for (key, value) in mapping {
            let keyNode = YAMLNode(node: key, file: file)
            guard let name = keyNode.scalarText else {
                log.error("\(what) has a key that is not a plain name", at: keyNode.location)
                continue
            }
            if let first = seen[name] {
                log.error(
                    "'\(name)' appears twice in \(what)", at: keyNode.location,
                    fix: "merge the two entries; the first is at \(first.map(\.description) ?? "an earlier line")")
                continue
            }
            seen[name] = keyNode.location
            result.append((name, keyNode, YAMLNode(node: value, file: file)))
        }
        return result
    }

    /// A mapping whose keys must come from `allowed`; unknown keys are errors with a suggestion.
    func fields(_ what: String, allowed: [String], log: inout DiagnosticLog) -> [String: YAMLNode]? {
        guard let entries = entries(what, log: &log) else { return nil }
        var result: [String: YAMLNode] = [:]
        for (key, keyNode, value) in entries {
            if allowed.contains(key) {
                result[key] = value
            } else {
                log.error(
                    "unknown key '\(key)' in \(what)", at: keyNode.location,
                    fix: DidYouMean.hint(for: key, among: allowed, kind: "key"))
            }
        }
        return result
    }

    /// A sequence's items; a single scalar counts as a one-item list.
    func list(_ what: String, log: inout DiagnosticLog) -> [YAMLNode]? {
        switch node {
        case .sequence(let sequence): return sequence.map { YAMLNode(node: $0, file: file) }
        case .scalar: return [self]
        default:
            log.error("\(what) must be a list", at: location)
            return nil
        }
    }

    func string(_ what: String, log: inout DiagnosticLog) -> String? {
        guard let text = scalarText else {
            log.error("\(what) must be a single value", at: location)
            return nil
        }
        return text
    }

    func strings(_ what: String, log: inout DiagnosticLog) -> [(String, YAMLNode)]? {
        guard let items = list(what, log: &log) else { return nil }
        return items.compactMap { item in item.string(what, log: &log).map { ($0, item) } }
    }

    func bool(_ what: String, log: inout DiagnosticLog) -> Bool? {
        switch scalarText?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            log.error("\(what) must be true or false", at: location)
            return nil
        }
    }

    /// Ports: 2080, "2080-2088", "2080-2088,2073" or a list of those.
    func ports(_ what: String, allowZero: Bool = false, log: inout DiagnosticLog) -> PortSet? {
        guard let items = list(what, log: &log) else { return nil }
        var ranges: [PortRange] = []
        for item in items {
            guard let text = item.scalarText, let set = PortSet(text: text) else {
                log.error(
                    "\(what): '\(item.scalarText ?? "?")' is not a port or port range (1-65535)", at: item.location,
                    fix: "write a port like 2080, a range like 2080-2088, or a list [2073, 3073]")
                return nil
            }
            if set.contains(0) && !allowZero {
                log.error("\(what): port 0 cannot be opened", at: item.location, fix: "use a port from 1 to 65535")
                return nil
            }
            ranges += set.ranges
        }
        return PortSet(ranges)
    }
}

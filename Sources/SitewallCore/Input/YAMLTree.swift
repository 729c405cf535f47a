import CYAML
import Foundation

/// A composed YAML document, built straight from libyaml's event stream: every node in one array,
/// every collection's children in another, every scalar's text in one byte array (a `String` is made
/// only when a value is read). Scalars stay text (sitewall reads each value itself), an
/// alias is a second reference to its anchor's node (never a copy), and the document's expanded size
/// (what it would be with every alias written out) is counted as it is built, so that a small file
/// of nested aliases is refused instead of costing minutes.
final class YAMLTree: Sendable {
    enum Kind: UInt8, Sendable { case scalar, sequence, mapping }

    /// 20 bytes: a site has a node per seven bytes of YAML or so.
    struct Node: Sendable {
        var kind: Kind
        /// A plain scalar without a tag (null, ~ and the empty value read as nothing).
        var plain: Bool
        var line: Int32
        var column: Int32
        /// Scalars: the range of `text`. Collections: the range of `children` (mappings: key, value, ...).
        var first: Int32
        var count: Int32
    }

    /// Limits on what a file may cost before a single value is read.
    struct Limits: Sendable {
        /// Nodes a document may have with its aliases written out, as a multiple of the nodes written.
        var aliasExpansion = 10
        /// Below this many expanded nodes, aliases are never refused.
        var expandedFloor = 100_000
    }

    enum Failure: Error {
        case syntax(problem: String, line: Int, column: Int)
        case duplicateKey(String, line: Int, column: Int, mappingLine: Int)
        case aliasExpansion(expanded: Int, written: Int, line: Int, column: Int)
        case empty
        /// Positions are 32-bit: the values of a file may take at most 2 GiB.
        case tooLarge(line: Int, column: Int)
    }

    let nodes: [Node]
    let children: [Int32]
    /// Every scalar's value (UTF-8), one after the other.
    let text: [UInt8]
    let root: Int32
    /// The name its values report their positions in.
    let file: String

    private init(nodes: [Node], children: [Int32], text: [UInt8], root: Int32, file: String) {
        self.nodes = nodes
        self.children = children
        self.text = text
        self.root = root
        self.file = file
    }

    func node(_ index: Int32) -> Node { nodes[Int(index)] }

    /// A scalar node's value.
    func string(_ node: Node) -> String { Self.string(node, in: text) }

    fileprivate static func string(_ node: Node, in text: [UInt8]) -> String {
        text.withUnsafeBufferPointer { buffer in
            String(
                decoding: UnsafeBufferPointer(rebasing: buffer[Int(node.first)..<Int(node.first + node.count)]),
                as: UTF8.self)
        }
    }

    /// Whether a scalar node's value is `value` (without making a `String` of it).
    func scalar(_ node: Node, is value: StaticString) -> Bool {
        guard node.count == value.utf8CodeUnitCount else { return false }
        guard node.count > 0 else { return true }
        return text.withUnsafeBufferPointer { buffer in
            memcmp(buffer.baseAddress! + Int(node.first), value.utf8Start, Int(node.count)) == 0
        }
    }

    /// The children of a collection node (mappings: key, value pairs in file order).
    func items(of index: Int32) -> ArraySlice<Int32> {
        let node = nodes[Int(index)]
        return children[Int(node.first)..<Int(node.first + node.count)]
    }

    /// Composes the first document of `bytes` (UTF-8).
    static func compose(_ bytes: [UInt8], file: String, limits: Limits = Limits()) throws(Failure) -> YAMLTree {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw .syntax(problem: "the YAML parser could not start (out of memory)", line: 1, column: 1)
        }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(Failure) -> YAMLTree in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = Builder(limits: limits)
            // Room for a node per four bytes (a site has one per seven or so), so the arrays seldom grow by
            // copying; room never touched costs address space, not memory.
            builder.nodes.reserveCapacity(bytes.count / 4 + 16)
            builder.children.reserveCapacity(bytes.count / 4 + 16)
            builder.text.reserveCapacity(bytes.count + 16)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else { throw Self.syntaxFailure(parser) }
                defer { yaml_event_delete(&event) }
                let done = try builder.take(&event)
                if done { break }
            }
            guard let root = builder.root else { throw .empty }
            return YAMLTree(
                nodes: builder.nodes, children: builder.children, text: builder.text, root: root, file: file)
        }
    }

    private static func syntaxFailure(_ parser: yaml_parser_t) -> Failure {
        let problem = parser.problem.map { String(cString: $0) } ?? "unreadable YAML"
        let context = parser.context.map { String(cString: $0) }
        let mark = parser.problem_mark
        return .syntax(
            problem: [context, problem].compactMap { $0 }.joined(separator: ": "), line: mark.line + 1,
            column: mark.column + 1)
    }

    /// Turns events into nodes: a stack of open collections, each gathering its children's indices.
    private struct Builder {
        let limits: Limits
        var nodes: [Node] = []
        var children: [Int32] = []
        var text: [UInt8] = []
        /// Open collections, their children so far in `pending` from `start` on (one stack for all:
        /// no array per collection), and their size so far with aliases written out (saturating); a
        /// mapping's keys get a table only once it is large (a host has a few).
        var open: [(node: Int32, start: Int, keys: KeyTable?, expanded: Int)] = []
        var pending: [Int32] = []
        var anchors: [String: Int32] = [:]
        /// The expanded sizes of anchored nodes, the only ones an alias can name (not one per node).
        var anchoredSizes: [Int32: Int] = [:]
        var root: Int32?

        init(limits: Limits) { self.limits = limits }

        /// Takes one event; true at the end of the first document.
        mutating func take(_ event: inout yaml_event_t) throws(Failure) -> Bool {
            let line = Int32(clamping: event.start_mark.line + 1)
            let column = Int32(clamping: event.start_mark.column + 1)
            switch event.type {
            case YAML_SCALAR_EVENT:
                let data = event.data.scalar
                // Escapes such as \L can make a value longer than its text in the file.
                guard text.count + data.length < Int32.max else {
                    throw .tooLarge(line: Int(line), column: Int(column))
                }
                let start = Int32(text.count)
                text.append(contentsOf: UnsafeBufferPointer(start: data.value, count: data.length))
                let plain = data.plain_implicit == 1 && data.style == YAML_PLAIN_SCALAR_STYLE
                let index = add(
                    Node(
                        kind: .scalar, plain: plain, line: line, column: column, first: start,
                        count: Int32(data.length)))
                anchor(data.anchor, index)
                try attach(index, expandedSize: 1, line: line, column: column)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let mapping = event.type == YAML_MAPPING_START_EVENT
                let index = add(
                    Node(
                        kind: mapping ? .mapping : .sequence, plain: false, line: line, column: column, first: 0,
                        count: 0))
                anchor(mapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor, index)
                open.append((index, pending.count, nil, 1))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let (index, start, _, size) = open.removeLast()
                if anchoredSizes[index] != nil { anchoredSizes[index] = size }
                nodes[Int(index)].first = Int32(children.count)
                nodes[Int(index)].count = Int32(pending.count - start)
                children += pending[start...]
                pending.removeSubrange(start...)
                let node = nodes[Int(index)]
                try attach(index, expandedSize: size, line: node.line, column: node.column)
            case YAML_ALIAS_EVENT:
                let name = String(cString: event.data.alias.anchor)
                guard let target = anchors[name] else {
                    throw .syntax(
                        problem: "alias *\(name) names no anchor defined before it", line: Int(line),
                        column: Int(column))
                }
                // An anchor still open (an alias inside its own anchor) counts what it has so far.
                let size = open.last { $0.node == target }?.expanded ?? anchoredSizes[target] ?? 1
                try attach(target, expandedSize: size, line: line, column: column)
            case YAML_DOCUMENT_END_EVENT:
                return true
            default:
                break
            }
            return false
        }

        private mutating func add(_ node: Node) -> Int32 {
            nodes.append(node)
            return Int32(nodes.count - 1)
        }

        private mutating func anchor(_ name: UnsafeMutablePointer<yaml_char_t>?, _ index: Int32) {
            guard let name else { return }
            anchors[String(cString: name)] = index
            anchoredSizes[index] = 1
        }

        /// Adds a finished node (or an alias to one) to the collection it is in, counting its expanded size.
        private mutating func attach(_ index: Int32, expandedSize: Int, line: Int32, column: Int32) throws(Failure) {
            let allowed = max(limits.expandedFloor, limits.aliasExpansion * nodes.count)
            guard !open.isEmpty else {
                if expandedSize > allowed {
                    throw .aliasExpansion(
                        expanded: expandedSize, written: nodes.count, line: Int(line), column: Int(column))
                }
                root = index
                return
            }
            let last = open.count - 1
            let parent = open[last].node
            let (grown, overflow) = open[last].expanded.addingReportingOverflow(expandedSize)
            open[last].expanded = overflow ? .max : grown
            if open[last].expanded > allowed {
                throw .aliasExpansion(
                    expanded: open[last].expanded, written: nodes.count, line: Int(line), column: Int(column))
            }
            // A mapping's keys: a scalar key written twice is an error where it is written the second time.
            if nodes[Int(parent)].kind == .mapping, (pending.count - open[last].start) % 2 == 0,
                nodes[Int(index)].kind == .scalar
            {
                if isRepeated(key: nodes[Int(index)], in: last) {
                    throw .duplicateKey(
                        string(nodes[Int(index)]), line: Int(line), column: Int(column),
                        mappingLine: Int(nodes[Int(parent)].line))
                }
            }
            pending.append(index)
        }

        /// Whether the open mapping at `level` has `key` already; a large one remembers its keys in a table.
        private mutating func isRepeated(key: Node, in level: Int) -> Bool {
            if var keys = open[level].keys {
                open[level].keys = nil  // one owner while it grows
                defer { open[level].keys = keys }
                return !keys.insert(key, text: text)
            }
            let start = open[level].start
            // A plain loop: a closure here would cost an allocation per key of every host.
            if pending.count - start < 32 {
                for position in stride(from: start, to: pending.count, by: 2) {
                    let node = nodes[Int(pending[position])]
                    if node.kind == .scalar && same(node, key) { return true }
                }
                return false
            }
            var keys = KeyTable()
            for position in stride(from: start, to: pending.count, by: 2) {
                let node = nodes[Int(pending[position])]
                if node.kind == .scalar { _ = keys.insert(node, text: text) }
            }
            let inserted = keys.insert(key, text: text)
            open[level].keys = keys
            return !inserted
        }

        private func string(_ node: Node) -> String { YAMLTree.string(node, in: text) }

        private func same(_ a: Node, _ b: Node) -> Bool { YAMLTree.same(a, b, in: text) }
    }

    /// Whether two scalars have the same text, as Swift compares strings: byte for byte when both are
    /// ASCII, canonically equivalent otherwise (a precomposed é is the same key as e and an accent).
    fileprivate static func same(_ a: Node, _ b: Node, in text: [UInt8]) -> Bool {
        if isASCII(a, text) && isASCII(b, text) {
            guard a.count == b.count else { return false }
            guard a.count > 0 else { return true }
            return text.withUnsafeBufferPointer { buffer in
                memcmp(buffer.baseAddress! + Int(a.first), buffer.baseAddress! + Int(b.first), Int(a.count)) == 0
            }
        }
        return string(a, in: text) == string(b, in: text)
    }

    fileprivate static func isASCII(_ node: Node, _ text: [UInt8]) -> Bool {
        text[Int(node.first)..<Int(node.first) + Int(node.count)].allSatisfy { $0 < 0x80 }
    }

    /// The scalar keys of a large mapping (the hosts of a site), hashed from their bytes in the text:
    /// no `String` is made for a key. Open addressing, at most half full.
    fileprivate struct KeyTable {
        /// Each key's range in the text and its hash (kept, so that growing hashes nothing again);
        /// `first` -1: empty.
        private var slots = [(first: Int32, count: Int32, hash: UInt32)](repeating: (-1, 0, 0), count: 256)
        private var count = 0

        /// Adds `key`; false if a key of the same text is there already.
        mutating func insert(_ key: Node, text: [UInt8]) -> Bool {
            if 2 * (count + 1) > slots.count { grow() }
            let hash = Self.hash(key, text)
            let mask = slots.count - 1
            var slot = Int(hash) & mask
            while slots[slot].first >= 0 {
                // Equal keys hash alike; their lengths may differ (canonically equivalent text).
                if slots[slot].hash == hash {
                    var other = key
                    (other.first, other.count) = (slots[slot].first, slots[slot].count)
                    if YAMLTree.same(other, key, in: text) { return false }
                }
                slot = (slot + 1) & mask
            }
            slots[slot] = (key.first, key.count, hash)
            count += 1
            return true
        }

        private mutating func grow() {
            let old = slots
            slots = [(first: Int32, count: Int32, hash: UInt32)](repeating: (-1, 0, 0), count: old.count * 2)
            let mask = slots.count - 1
            for entry in old where entry.first >= 0 {
                var slot = Int(entry.hash) & mask
                while slots[slot].first >= 0 { slot = (slot + 1) & mask }
                slots[slot] = entry
            }
        }

        /// FNV-1a over the key's bytes; Swift's string hash (canonical equivalence) for a key that is
        /// not ASCII or has an ASCII character some other character decomposes to (K, ; and `).
        private static func hash(_ key: Node, _ text: [UInt8]) -> UInt32 {
            var hash: UInt32 = 0x811c_9dc5
            for index in Int(key.first)..<Int(key.first) + Int(key.count) {
                let byte = text[index]
                if byte >= 0x80 || byte == UInt8(ascii: "K") || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "`") {
                    return UInt32(truncatingIfNeeded: YAMLTree.string(key, in: text).hashValue)
                }
                hash = (hash ^ UInt32(byte)) &* 0x0100_0193
            }
            return hash
        }
    }
}

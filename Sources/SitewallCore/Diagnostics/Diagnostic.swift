/// Where in an input file a value came from.
/// 24 bytes: every host, role and address of a site carries one.
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    public var file: String
    private var storedLine: Int32
    private var storedColumn: Int32

    public var line: Int {
        get { Int(storedLine) }
        set { storedLine = Int32(clamping: newValue) }
    }
    public var column: Int {
        get { Int(storedColumn) }
        set { storedColumn = Int32(clamping: newValue) }
    }

    public init(file: String, line: Int, column: Int) {
        self.file = file
        storedLine = Int32(clamping: line)
        storedColumn = Int32(clamping: column)
    }

    public var description: String { "\(file):\(line):\(column)" }

    private enum CodingKeys: String, CodingKey { case file, line, column }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            file: try container.decode(String.self, forKey: .file), line: try container.decode(Int.self, forKey: .line),
            column: try container.decode(Int.self, forKey: .column))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(line, forKey: .line)
        try container.encode(column, forKey: .column)
    }
}

/// One problem found in a site or profile: what is wrong, where, and how to fix it.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable { case error, warning }

    public var severity: Severity
    public var location: SourceLocation?
    public var message: String
    public var fix: String?

    public init(_ severity: Severity, _ message: String, at location: SourceLocation?, fix: String? = nil) {
        self.severity = severity
        self.message = message
        self.location = location
        self.fix = fix
    }

    public static func error(_ message: String, at location: SourceLocation?, fix: String? = nil) -> Diagnostic {
        Diagnostic(.error, message, at: location, fix: fix)
    }

    public static func warning(_ message: String, at location: SourceLocation?, fix: String? = nil) -> Diagnostic {
        Diagnostic(.warning, message, at: location, fix: fix)
    }

    public var description: String {
        var text = location.map { "\($0): " } ?? ""
        text += "\(severity.rawValue): \(message)"
        if let fix { text += "\n  fix: \(fix)" }
        return InputText.terminalSafe(text)
    }
}

/// Thrown when input has errors; carries every diagnostic found, warnings included.
public struct DiagnosticsError: Error, CustomStringConvertible, Sendable {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics while a stage runs, so that one run reports every problem.
public struct DiagnosticLog: Sendable {
    public private(set) var diagnostics: [Diagnostic] = []

    public init() {}

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    public mutating func error(_ message: String, at location: SourceLocation?, fix: String? = nil) {
        diagnostics.append(.error(message, at: location, fix: fix))
    }

    public mutating func warning(_ message: String, at location: SourceLocation?, fix: String? = nil) {
        diagnostics.append(.warning(message, at: location, fix: fix))
    }

    public mutating func append(contentsOf other: [Diagnostic]) { diagnostics.append(contentsOf: other) }

    /// Throws when any error was logged.
    public func throwIfErrors() throws {
        if hasErrors { throw DiagnosticsError(diagnostics) }
    }
}

/// The backends, by the names users give them (`compile --target`, `verify --target`).
public enum BackendKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// An `nft -f` script.
    case nft
    /// iptables-save text, one document per family.
    case iptables
    /// Applied directly over netlink (`apply`); renders no text.
    case netlink
    /// The compiled policy itself, as JSON.
    case json

    public var description: String { rawValue }

    public var backend: any Backend.Type { Backends.all.first { $0.kind == self }! }
}

/// A way of turning a policy into what a machine loads. Each backend says what it cannot express,
/// so that a policy is checked whole (every problem at once) before anything is rendered or applied.
public protocol Backend {
    static var kind: BackendKind { get }
    /// Why this backend cannot express `chain` itself (its hook, say), or nil.
    static func unsupported(chain: Chain) -> String?
    /// Why this backend cannot express `rule` of `chain`, or nil.
    static func unsupported(rule: Rule, in chain: Chain) -> String?
}

extension Backend {
    public static func unsupported(chain: Chain) -> String? { nil }
    public static func unsupported(rule: Rule, in chain: Chain) -> String? { nil }
}

/// A backend that writes files: (suffix, text) for each, e.g. ("v4", ...) and ("v6", ...) for iptables.
public protocol TextBackend: Backend {
    static func files(_ policy: Policy, options: RenderOptions) throws -> [(suffix: String, text: String)]
}

public struct RenderOptions: Sendable {
    /// iptables: only sitewall's own chains, for `iptables-restore --noflush`.
    public var chainsOnly = false
    public init() {}
}

/// Something a backend cannot express, with the site line the rule comes from.
public struct Unexpressible: Sendable, CustomStringConvertible, Equatable {
    public var backend: BackendKind
    public var target: Target
    public var chain: String
    /// 1-based; nil when the chain itself is the problem.
    public var rule: Int?
    public var reason: String
    /// Where the site asks for it (the conduit, or the listening host), and the profile the ports come from.
    public var location: SourceLocation?
    public var profileLocation: SourceLocation?
    public var flow: String?
    /// Set when several rules of one cause are said at once (see `merged`).
    public var rules: [Int] = []

    public var description: String {
        var text = location.map { "\($0): " } ?? ""
        text += "the \(backend) backend cannot express \(reason) (\(target), chain \(chain)"
        text += rule.map { ", rule \($0)" } ?? ""
        if !rules.isEmpty { text += ", rules " + Self.spans(rules) }
        text += flow.map { ": \(InputText.clipped($0))" } ?? ""
        text += ")"
        if let profileLocation { text += "; the ports come from \(profileLocation)" }
        return text
    }

    /// "2-9, 12": rule numbers as runs.
    static func spans(_ numbers: [Int]) -> String {
        var runs: [(Int, Int)] = []
        for number in numbers.sorted() {
            if let last = runs.last, last.1 + 1 == number {
                runs[runs.count - 1].1 = number
            } else {
                runs.append((number, number))
            }
        }
        return runs.map { $0.0 == $0.1 ? "\($0.0)" : "\($0.0)-\($0.1)" }.joined(separator: ", ")
    }

    /// One problem per cause: rules that differ only in their number and flow (an operation filter's
    /// checks) are said once, with the rules they are.
    public static func merged(_ problems: [Unexpressible]) -> [Unexpressible] {
        var causes: [Unexpressible] = []
        var groups: [[Unexpressible]] = []
        for problem in problems {
            var cause = problem
            cause.rule = nil
            cause.flow = nil
            if let index = causes.firstIndex(of: cause) {
                groups[index].append(problem)
            } else {
                causes.append(cause)
                groups.append([problem])
            }
        }
        return zip(causes, groups).map { cause, group in
            guard group.count > 1 else { return group[0] }
            var merged = cause
            merged.rules = group.compactMap(\.rule)
            return merged
        }
    }
}

public struct UnexpressibleError: Error, CustomStringConvertible {
    public var problems: [Unexpressible]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Every backend, in one place.
public enum Backends {
    nonisolated(unsafe) public static let all: [any Backend.Type] = [
        NftBackend.self, IptablesBackend.self, NetlinkBackend.self,
        PolicyJSONBackend.self,
    ]

    /// Everything of `policy` that `kind` cannot express, all at once.
    public static func unexpressible(_ policy: Policy, by kind: BackendKind) -> [Unexpressible] {
        let backend = kind.backend
        var problems: [Unexpressible] = []
        for chain in policy.table.chains {
            if let reason = backend.unsupported(chain: chain) {
                problems.append(Unexpressible(backend: kind, target: policy.target, chain: chain.name, reason: reason))
                continue
            }
            for (index, rule) in chain.rules.enumerated() {
                guard let reason = backend.unsupported(rule: rule, in: chain) else { continue }
                problems.append(
                    Unexpressible(
                        backend: kind, target: policy.target, chain: chain.name, rule: index + 1,
                        reason: reason, location: rule.origin?.location,
                        profileLocation: rule.origin?.serviceLocation, flow: rule.comment))
            }
        }
        return problems
    }

    /// Throws every problem at once when `kind` cannot express all of `policy`.
    public static func check(_ policy: Policy, by kind: BackendKind) throws {
        let problems = unexpressible(policy, by: kind)
        if !problems.isEmpty { throw UnexpressibleError(problems: problems) }
    }
}

/// Applying over netlink: what the encoder cannot put into nf_tables expressions.
public enum NetlinkBackend: Backend {
    public static let kind = BackendKind.netlink

    public static func unsupported(rule: Rule, in chain: Chain) -> String? {
        do {
            _ = try RuleSpelling.netlink(rule)
            return nil
        } catch let error as UnsupportedConstruct {
            return error.reason
        } catch {
            return "\(error)"
        }
    }
}

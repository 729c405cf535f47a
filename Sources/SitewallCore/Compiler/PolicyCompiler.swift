/// Turns a resolved site into the policy for one host or gateway.
public struct PolicyCompiler {
    public let site: ResolvedSite
    public let flows: [FlowGroup]

    public init(site: ResolvedSite, flows: [FlowGroup]? = nil) {
        self.site = site
        self.flows = flows ?? FlowDeriver.derive(site)
    }

    /// The hosts and gateways there are to compile for.
    public var targets: [Target] {
        site.hosts.map { Target(kind: $0.isGateway ? .gateway : .host, name: $0.name) }
    }

    public enum TargetError: Error, CustomStringConvertible {
        case unknown(String, kind: Target.Kind, hint: String)
        case wrongKind(String, isGateway: Bool)

        public var description: String {
            switch self {
            case .unknown(let name, let kind, let hint): "the site has no \(kind.rawValue) '\(name)': \(hint)"
            case .wrongKind(let name, let isGateway):
                isGateway
                    ? "'\(name)' is a gateway: use --gateway \(name)" : "'\(name)' is not a gateway: use --host \(name)"
            }
        }
    }

    public func target(kind: Target.Kind, name: String) throws -> Target {
        guard let host = site.host(named: name) else {
            let candidates = site.hosts.filter { ($0.isGateway ? Target.Kind.gateway : .host) == kind }.map(\.name)
            throw TargetError.unknown(
                name, kind: kind, hint: DidYouMean.hint(for: name, among: candidates, kind: kind.rawValue))
        }
        guard host.isGateway == (kind == .gateway) else { throw TargetError.wrongKind(name, isGateway: host.isGateway) }
        return Target(kind: kind, name: name)
    }

    public func compile(_ target: Target) -> Policy {
        guard let host = site.host(named: target.name) else {
            return Policy(site: site.site.name, target: target, table: Table())
        }
        var builder = ChainBuilder(site: site, host: host)
        for group in flows where group.allowed {
            builder.add(group)
        }
        var table = Table()
        table.chains = [
            Chain(
                name: "input", hook: .input, priority: 0, policy: .drop,
                rules: Baseline.input + builder.rules(for: .input)),
            Chain(
                name: "forward", hook: .forward, priority: 0, policy: .drop,
                rules: host.isGateway ? Baseline.forward + builder.rules(for: .forward) : []),
            Chain(
                name: "output", hook: .output, priority: 0, policy: .drop,
                rules: Baseline.output + builder.rules(for: .output)),
        ]
        table.sets = builder.namer.sets
        table.helpers = ConntrackHelper.allCases.filter { helper in
            table.chains.contains { $0.rules.contains { $0.helper == helper } }
        }
        return Policy(site: site.site.name, target: target, table: table)
    }
}

/// Rules that every sitewall chain starts with.
enum Baseline {
    static func rule(_ verdict: Verdict, comment: String, _ configure: (inout Rule) -> Void) -> Rule {
        var rule = Rule(verdict: verdict)
        configure(&rule)
        rule.comment = comment
        rule.origin = RuleOrigin(kind: .baseline)
        return rule
    }

    static let invalid = rule(.drop, comment: "drop packets conntrack cannot place") { $0.ctState = [.invalid] }
    static let established = rule(.accept, comment: "replies and helper-related flows") {
        $0.ctState = [.established, .related]
    }

    static let input: [Rule] = [
        rule(.accept, comment: "loopback") { $0.iif = "lo" },
        invalid, established,
        rule(.accept, comment: "IPv6 neighbour discovery (on-link only)") {
            $0.family = .ipv6
            // By type number, as read back.
            $0.icmpv6Types = ["nd-router-advert", "nd-neighbor-solicit", "nd-neighbor-advert"]
        },
    ]
    static let output: [Rule] = [
        rule(.accept, comment: "loopback") { $0.oif = "lo" },
        invalid, established,
        rule(.accept, comment: "IPv6 neighbour discovery (on-link only)") {
            $0.family = .ipv6
            $0.icmpv6Types = ["nd-router-solicit", "nd-neighbor-solicit", "nd-neighbor-advert"]
        },
    ]
    static let forward: [Rule] = [invalid, established]
}

import Foundation

/// Turns a resolved site into the policy for one host or gateway.
public struct PolicyCompiler: Sendable {
    public let site: ResolvedSite
    public let flows: [FlowGroup]
    /// A host's part in one allowed flow group.
    struct Membership: Hashable, Sendable {
        var group: Int
        var listener = false
        var initiator = false
    }

    /// Host name -> the allowed flow groups it takes part in, in flow order. A host's policy reads only
    /// its own groups: compiling every target stays linear in the site instead of every target
    /// scanning every group's members. Built at the first host's compile: a gateway alone (compile
    /// --gateway, apply) finds its own groups with one scan and never pays for indexing every host.
    private let groupsOfHost = HostGroupIndex()
    /// Tables already compiled, by what decides them (see `classKey`): the hosts of one role mix in
    /// one zone share one table instead of each building its own copy of the same sets.
    private let tables = TableCache()

    public init(site: ResolvedSite, flows: [FlowGroup]? = nil) {
        self.site = site
        self.flows = flows ?? FlowDeriver.derive(site)
    }

    fileprivate static func index(_ flows: [FlowGroup], hosts: Int) -> [String: [Membership]] {
        var groupsOfHost: [String: [Membership]] = [:]
        groupsOfHost.reserveCapacity(hosts)
        for (index, group) in flows.enumerated() where group.allowed {
            for (members, listener) in [(group.listeners, true), (group.initiators, false)] {
                for member in members {
                    // In place: one lookup, and the list is not copied to grow.
                    mark(&groupsOfHost[member.host, default: []], group: index, listener: listener)
                }
            }
        }
        return groupsOfHost
    }

    private static func mark(_ list: inout [Membership], group: Int, listener: Bool) {
        if list.last?.group != group { list.append(Membership(group: group)) }
        if listener { list[list.count - 1].listener = true } else { list[list.count - 1].initiator = true }
    }

    /// The allowed groups a host's rules can come from, in flow order: a gateway's include every group
    /// that crosses zones (its forward rules).
    private func memberships(of host: ResolvedHost) -> [Membership] {
        guard host.isGateway else {
            return groupsOfHost.memberships(of: host.name) { Self.index(flows, hosts: site.hosts.count) }
        }
        var result: [Membership] = []
        for (index, group) in flows.enumerated() where group.allowed {
            let membership = Membership(
                group: index, listener: group.listeners.contains { $0.host == host.name },
                initiator: group.initiators.contains { $0.host == host.name })
            if membership.listener || membership.initiator || group.crossesZones { result.append(membership) }
        }
        return result
    }

    /// The class of a target: targets of one class compile to the same table (nil: a class of its own).
    func classKey(of target: Target) -> [Membership]? {
        guard let host = site.host(named: target.name) else { return nil }
        return classKey(host, memberships(of: host))
    }

    /// What a host's table depends on besides its memberships: nothing for a host with one address
    /// per family (ChainBuilder matches own addresses only for several, and interfaces only on a
    /// gateway); such hosts with equal memberships get equal tables. nil: compile it on its own.
    private func classKey(_ host: ResolvedHost, _ memberships: [Membership]) -> [Membership]? {
        guard !host.isGateway else { return nil }
        let v4 = host.addresses.filter { $0.address.family == .ipv4 }.count
        let v6 = host.addresses.count - v4
        return v4 <= 1 && v6 <= 1 ? memberships : nil
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
        let memberships = memberships(of: host)
        let key = classKey(host, memberships)
        if let key, let table = tables.table(for: key) {
            return Policy(site: site.site.name, target: target, table: table)
        }
        var builder = ChainBuilder(site: site, host: host)
        for membership in memberships {
            builder.add(
                flows[membership.group], index: membership.group, isListener: membership.listener,
                isInitiator: membership.initiator)
        }
        let input = builder.rules(for: .input)
        let forward = host.isGateway ? builder.rules(for: .forward) : []
        let output = builder.rules(for: .output)
        var table = Table()
        table.chains = [
            Chain(
                name: "input", hook: .input, priority: 0, policy: .drop,
                rules: Baseline.screened(Baseline.input, builder.screens[.input]) + input),
            Chain(
                name: "forward", hook: .forward, priority: 0, policy: .drop,
                rules: host.isGateway ? Baseline.screened(Baseline.forward, builder.screens[.forward]) + forward : []),
            Chain(
                name: "output", hook: .output, priority: 0, policy: .drop,
                rules: Baseline.screened(Baseline.output, builder.screens[.output]) + output),
        ]
        table.sets = builder.namer.sets
        table.helpers = ConntrackHelper.allCases.filter { helper in
            table.chains.contains { $0.rules.contains { $0.helper == helper } }
        }
        SessionPickup.apply(to: &table)
        ObservationRules.apply(site.site.observe, to: &table, host: host, zones: site.zones.map(\.name))
        if let key { tables.store(table, for: key) }
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
        listenerDiscovery,
    ]
    static let output: [Rule] = [
        rule(.accept, comment: "loopback") { $0.oif = "lo" },
        invalid, established,
        rule(.accept, comment: "IPv6 neighbour discovery (on-link only)") {
            $0.family = .ipv6
            $0.icmpv6Types = ["nd-router-solicit", "nd-neighbor-solicit", "nd-neighbor-advert"]
        },
        listenerDiscovery,
    ]
    /// MLD (RFC 4890 4.4.1): a host reports the groups it listens to, its solicited-node groups among them,
    /// so that switches that snoop MLD forward neighbour solicitations to it.
    static let listenerDiscovery = rule(.accept, comment: "IPv6 multicast listener discovery (on-link only)") {
        $0.family = .ipv6
        $0.icmpv6Types = ["mld-listener-query", "mld-listener-report", "mld-listener-done", "mld2-listener-report"]
    }
    static let forward: [Rule] = [invalid, established]

    /// A chain's baseline with the operation filters' rules just before the established accept:
    /// after it, a segment of an open connection would never reach them.
    static func screened(_ baseline: [Rule], _ screens: [Rule]?) -> [Rule] {
        guard let screens, !screens.isEmpty, let index = baseline.firstIndex(of: established) else { return baseline }
        return Array(baseline[..<index]) + screens + baseline[index...]
    }
}

/// The index of hosts' flow groups, built once on first use (the lock makes it safe to share).
final class HostGroupIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var groups: [String: [PolicyCompiler.Membership]]?

    func memberships(
        of host: String, building build: () -> [String: [PolicyCompiler.Membership]]
    ) -> [PolicyCompiler.Membership] {
        lock.withLock {
            if groups == nil { groups = build() }
            return groups?[host] ?? []
        }
    }
}

/// Compiled tables by host class, shared by every copy of a compiler; bounded, so that a site of
/// hosts that are all different costs no more memory than compiling them one by one.
final class TableCache: @unchecked Sendable {
    private let lock = NSLock()
    private var tables: [[PolicyCompiler.Membership]: Table] = [:]
    static let capacity = 512

    func table(for key: [PolicyCompiler.Membership]) -> Table? {
        lock.withLock { tables[key] }
    }

    func store(_ table: Table, for key: [PolicyCompiler.Membership]) {
        lock.withLock { if tables.count < Self.capacity { tables[key] = table } }
    }
}

/// The differences between two policies for one target, object by object, independent of
/// handles, counters, element order and how nft happens to print things.
public struct PolicyDiff: Sendable {
    public enum Change: Sendable {
        case tableMissing
        case tableExtra
        case chainMissing(Chain)
        case chainExtra(Chain)
        case chainChanged(name: String, field: String, expected: String, running: String)
        case ruleMissing(chain: String, rule: Rule)
        case ruleExtra(chain: String, rule: Rule)
        case ruleOrder(chain: String)
        case setMissing(AddressSet)
        case setExtra(AddressSet)
        case elementsMissing(set: String, addresses: [IPAddress])
        case elementsExtra(set: String, addresses: [IPAddress])
        case helperMissing(ConntrackHelper)
        case helperExtra(ConntrackHelper)
        /// A named counter (`observe: counters`); their values are never compared.
        case counterMissing(String)
        case counterExtra(String)
        case foreignObject(String)
    }

    /// What the site compiles to (or the old site, in a change review).
    public var expected: Policy?
    /// What is running (or the new site).
    public var running: Policy?
    public var changes: [Change] = []

    public var isEmpty: Bool { changes.isEmpty }

    /// A rule's identity: everything it matches and does, not its comment or provenance.
    static func key(_ rule: Rule) -> Rule { rule.identity }

    /// With `ownTableOnly`, other tables are left out (their chains are still listed as warnings).
    public static func compare(expected: Policy?, running: RunningState, ownTableOnly: Bool = false) -> PolicyDiff {
        var diff = compare(expected: expected, running: running.policy)
        for other in running.otherChains where !ownTableOnly && !other.effects.isEmpty {
            diff.changes.append(
                .foreignObject(
                    "table \(other.family) \(other.table) chain \(other.chain) (hook \(other.hook), "
                        + "priority \(other.priority)) sees the traffic sitewall filters and can "
                        + "\(other.effects.joined(separator: ", ")) "
                        + "it: the kernel does not do what the site says ('--own-table' leaves other tables out)"))
        }
        for flag in running.tableFlags {
            diff.changes.append(
                .foreignObject(
                    flag == "dormant"
                        ? "table inet sitewall is dormant (flags dormant): none of its rules filter anything"
                        : "table inet sitewall has \(flag), which sitewall never sets"))
        }
        for name in running.extraChains {
            diff.changes.append(.foreignObject("chain \(name) (not a base chain; sitewall makes none)"))
        }
        for description in running.foreignSets + running.unreadable { diff.changes.append(.foreignObject(description)) }
        return diff
    }

    public static func compare(expected: Policy?, running: Policy?) -> PolicyDiff {
        var diff = PolicyDiff(expected: expected, running: running)
        switch (expected, running) {
        case (nil, nil): return diff
        case (_?, nil):
            diff.changes.append(.tableMissing)
            return diff
        case (nil, _?):
            diff.changes.append(.tableExtra)
            return diff
        case (let expected?, let running?):
            diff.compareTables(expected.table, running.table)
            return diff
        }
    }

    mutating func compareTables(_ expected: Table, _ running: Table) {
        for helper in expected.helpers where !running.helpers.contains(helper) {
            changes.append(.helperMissing(helper))
        }
        for helper in running.helpers where !expected.helpers.contains(helper) { changes.append(.helperExtra(helper)) }
        let (expectedCounters, runningCounters) = (Set(expected.counters ?? []), Set(running.counters ?? []))
        for name in expectedCounters.subtracting(runningCounters).sorted() { changes.append(.counterMissing(name)) }
        for name in runningCounters.subtracting(expectedCounters).sorted() { changes.append(.counterExtra(name)) }

        // A dump can name a set twice (a hand-edited or merged file): the first counts, the rest are reported.
        let runningSets = Dictionary(running.sets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (name, count) in Dictionary(running.sets.map { ($0.name, 1) }, uniquingKeysWith: +) where count > 1 {
            changes.append(.foreignObject("set \(name) appears \(count) times in the running rules"))
        }
        let expectedSets = Dictionary(uniqueKeysWithValues: expected.sets.map { ($0.name, $0) })
        for set in expected.sets {
            guard let other = runningSets[set.name] else {
                changes.append(.setMissing(set))
                continue
            }
            let have = Set(other.elements)
            let want = Set(set.elements)
            let missing = want.subtracting(have).sorted()
            let extra = have.subtracting(want).sorted()
            if !missing.isEmpty { changes.append(.elementsMissing(set: set.name, addresses: missing)) }
            if !extra.isEmpty { changes.append(.elementsExtra(set: set.name, addresses: extra)) }
        }
        for set in running.sets where expectedSets[set.name] == nil { changes.append(.setExtra(set)) }

        for chain in expected.chains {
            guard let other = running.chain(named: chain.name) else {
                changes.append(.chainMissing(chain))
                continue
            }
            if other.hook != chain.hook {
                changes.append(
                    .chainChanged(
                        name: chain.name, field: "hook", expected: chain.hook.rawValue, running: other.hook.rawValue))
            }
            if other.priority != chain.priority {
                changes.append(
                    .chainChanged(
                        name: chain.name, field: "priority", expected: "\(chain.priority)", running: "\(other.priority)"
                    ))
            }
            if other.policy != chain.policy {
                changes.append(
                    .chainChanged(
                        name: chain.name, field: "policy", expected: chain.policy.rawValue,
                        running: other.policy.rawValue))
            }
            compareRules(chain: chain.name, expected: chain.rules, running: other.rules)
        }
        for chain in running.chains where expected.chain(named: chain.name) == nil {
            changes.append(.chainExtra(chain))
        }
    }

    /// Rules are compared as multisets of identities; if both hold the same rules in another
    /// order, that is reported too (order decides which verdict wins).
    mutating func compareRules(chain: String, expected: [Rule], running: [Rule]) {
        var remaining: [Rule: Int] = [:]
        for rule in running { remaining[PolicyDiff.key(rule), default: 0] += 1 }
        var matchedExpected: [Rule] = []
        for rule in expected {
            let key = PolicyDiff.key(rule)
            if let count = remaining[key], count > 0 {
                remaining[key] = count - 1
                matchedExpected.append(key)
            } else {
                changes.append(.ruleMissing(chain: chain, rule: rule))
            }
        }
        var extraBudget = remaining
        var matchedRunning: [Rule] = []
        for rule in running {
            let key = PolicyDiff.key(rule)
            if let count = extraBudget[key], count > 0 {
                extraBudget[key] = count - 1
                changes.append(.ruleExtra(chain: chain, rule: rule))
            } else {
                matchedRunning.append(key)
            }
        }
        if matchedExpected != matchedRunning && Set(matchedExpected) == Set(matchedRunning) {
            changes.append(.ruleOrder(chain: chain))
        }
    }
}

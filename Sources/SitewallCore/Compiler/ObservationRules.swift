/// What `observe:` adds to a compiled table: a named counter on every flow rule, and at the end of each
/// chain a rule that counts and logs what is about to meet the chain's drop policy (per zone pair in a
/// gateway's forward chain). The final rules drop what the policy would drop anyway, so verdicts do
/// not change; packets over the log rate skip the rule and still meet the policy.
enum ObservationRules {
    static func apply(_ observation: SiteObservation, to table: inout Table, host: ResolvedHost, zones: [String]) {
        guard observation.counters || observation.logDrops != nil else { return }
        var names: [String] = []
        var taken = Set<String>()
        func claim(_ base: String) -> String {
            var name = base
            var suffix = 2
            while !taken.insert(name).inserted {
                name = "\(base)_\(suffix)"
                suffix += 1
            }
            names.append(name)
            return name
        }
        for index in table.chains.indices {
            let chain = table.chains[index].name
            if observation.counters {
                for ruleIndex in table.chains[index].rules.indices {
                    var rule = table.chains[index].rules[ruleIndex]
                    guard let origin = rule.origin, origin.kind != .baseline else { continue }
                    rule.counter = claim(counterName(rule, chain: chain, service: origin.service ?? "flow"))
                    table.chains[index].rules[ruleIndex] = rule
                }
            }
            guard table.chains[index].policy == .drop, !(chain == "forward" && !host.isGateway) else { continue }
            for pair in pairs(chain: chain, host: host, zones: zones) {
                let what = pair.map { "\($0.from.zone)->\($0.to.zone)" } ?? chain
                var rule = Rule(verdict: .drop)
                rule.iifname = pair?.from.interface
                rule.oifname = pair?.to.interface
                if observation.counters {
                    rule.counter = claim("drop_" + safe(pair.map { "\($0.from.zone)_\($0.to.zone)" } ?? chain))
                }
                if let logging = observation.logDrops {
                    rule.limit = logging.rate
                    let prefix = "\(logging.prefix) drop \(what): "
                    rule.log = LogAction(prefix: String(prefix.prefix(LogAction.prefixLimit)), group: logging.group)
                }
                rule.comment = "count and log what the policy drops: \(what)"
                rule.origin = RuleOrigin(kind: .drop, fromZone: pair?.from.zone ?? chain, toZone: pair?.to.zone)
                table.chains[index].rules.append(rule)
            }
        }
        if !names.isEmpty { table.counters = names }
    }

    typealias Side = (zone: String, interface: String)

    /// A gateway's forward chain: every ordered pair of its zones' interfaces; another chain: one rule
    /// for the whole chain (nil).
    static func pairs(chain: String, host: ResolvedHost, zones: [String]) -> [(from: Side, to: Side)?] {
        guard chain == "forward", let interfaces = host.interfaces else { return [nil] }
        let sides = zones.compactMap { zone in interfaces[zone].map { (zone: zone, interface: $0) } }
        return sides.flatMap { from in sides.filter { $0.zone != from.zone }.map { (from: from, to: $0) } }
    }

    /// "c_modbus_modbus_forward_1a2b3c4d": the service and chain for a reader, and a hash of what the rule
    /// matches, so that the same rule keeps its counter (and its value) across applies of a changed site.
    static func counterName(_ rule: Rule, chain: String, service: String) -> String {
        var bare = rule.identity
        bare.counter = nil
        let hash = fnv1a(RuleSpelling.nft(bare))
        let hex = String(hash, radix: 16)
        return "c_\(safe(service))_\(chain)_" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    static func safe(_ text: String) -> String {
        String(text.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }.prefix(40))
    }

    static func fnv1a(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }
}

import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 16: `explain` answers from the compiled policies; it must agree with what verify's probes
/// expect (and prove in the kernel) for every plain connection probe of every example.
@Suite struct ExplainTests {
    @Test(arguments: Repository.exampleNames)
    func explainAgreesWithEveryVerifyProbe(_ example: String) throws {
        let workspace = try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        let probes = ProbePlanner(site: workspace.resolved, flows: workspace.flows).plan()
        var compared = 0
        var filtered = 0
        for probe in probes {
            let explanation = try Explainer.explain(
                workspace, from: "\(probe.fromAddress)", to: "\(probe.toAddress)", transport: probe.transport,
                port: probe.dport, sourcePort: probe.sport)
            switch probe.delivery {
            case nil:
                // Connections (TCP, UDP) and pings.
                #expect(explanation.verdict == probe.expected, "\(probe.label): \(explanation.steps)")
                compared += 1
            case .modbus?, .bacnet?:
                // An operation: the connection opens; when verify expects the operation dropped, explain
                // says that a filter decides what the connection carries.
                #expect(explanation.verdict == .accept, "\(probe.label)")
                if probe.expected == .drop {
                    #expect(explanation.notes.contains { $0.contains("dropped segment by segment") }, "\(probe.label)")
                    filtered += 1
                }
            default:
                // Broadcast, multicast, unaddressed and FTP data probes go to other addresses or ports than
                // the connection explain is asked about: verify's kernel labs prove them.
                continue
            }
        }
        #expect(compared > 5)
        if example == "water-plant" { #expect(filtered > 0, "\(example)") }
    }

    @Test func anAllowedFlowNamesItsRuleAndVendorSource() throws {
        let campus = try Workspace.load(site: Repository.example("campus"), profiles: Repository.profiles)
        let explanation = try Explainer.explain(campus, from: "sc-plugin", to: "plc-1", transport: .tcp, port: 502)
        #expect(explanation.verdict == .accept)
        #expect(
            explanation.steps.map { "\($0.target) \($0.chain)" } == [
                "host sc-plugin output", "gateway gw-1 forward", "host plc-1 input",
            ])
        let forward = explanation.steps[1]
        #expect(forward.rule != nil && forward.service?.hasPrefix("modbus") == true)
        #expect(!(forward.citations ?? []).isEmpty)
    }

    @Test func aDroppedFlowSaysWhatWouldAllowIt() throws {
        let campus = try Workspace.load(site: Repository.example("campus"), profiles: Repository.profiles)
        let explanation = try Explainer.explain(campus, from: "sc-plugin", to: "pac-1", transport: .tcp, port: 2001)
        #expect(explanation.verdict == .drop)
        #expect(explanation.steps.contains { $0.verdict == .drop && $0.rule == nil })
        #expect(!explanation.hints.isEmpty)
        #expect(throws: Explainer.Failure.self) {
            try Explainer.explain(campus, from: "pac-l", to: "pac-1", transport: .tcp, port: 502)
        }
    }

    /// The campus's IIoT plugin names plc-1 as its one Modbus peer: the answer says so, not "no role".
    @Test func aPeerLeftOutOfAUseIsTheReasonGiven() throws {
        let campus = try Workspace.load(site: Repository.example("campus"), profiles: Repository.profiles)
        let explanation = try Explainer.explain(campus, from: "sc-plugin", to: "pac-1", transport: .tcp, port: 502)
        #expect(explanation.verdict == .drop)
        #expect(explanation.hints.count == 1)
        #expect(explanation.hints.first?.contains("names the peers it uses modbus/modbus") == true)
        #expect(explanation.hints.first?.contains("campus.yaml:") == true)
    }

    /// Reverse questions: every flow verify's probes expect to pass appears in `--to` of its listener and
    /// `--from` of its initiator, on that port; every peer either answer lists passes the compiled rules.
    @Test(arguments: Repository.exampleNames)
    func reverseQuestionsListEveryFlowVerifyProbes(_ example: String) throws {
        let workspace = try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
        let probes = ProbePlanner(site: workspace.resolved, flows: workspace.flows).plan()
        var compared = 0
        for probe in probes where probe.reason == "flow" && probe.delivery == nil && probe.transport != .icmp {
            let to = try Explainer.reachability(workspace, host: probe.to, direction: .to, port: probe.dport)
            #expect(
                to.flows.contains { $0.peers.contains { $0.address == probe.fromAddress && $0.verdict == .accept } },
                "--to \(probe.to):\(probe.dport) lacks \(probe.label)")
            let from = try Explainer.reachability(workspace, host: probe.from, direction: .from, port: probe.dport)
            #expect(
                from.flows.contains { $0.peers.contains { $0.address == probe.toAddress && $0.verdict == .accept } },
                "--from \(probe.from):\(probe.dport) lacks \(probe.label)")
            compared += 1
        }
        #expect(compared > 3)
        for host in workspace.resolved.hosts {
            for direction in [Reachability.Direction.to, .from] {
                let answer = try Explainer.reachability(workspace, host: host.name, direction: direction)
                let dropped = answer.flows.flatMap { flow in flow.peers.filter { $0.verdict == .drop } }
                #expect(dropped.isEmpty, "\(example) \(direction) \(host.name): \(dropped)")
            }
        }
    }

    /// The campus: scada-1/2 and the IIoT plugin reach plc-1 on 502; the plugin reaches plc-1 only.
    @Test func reverseQuestionsNameThePeers() throws {
        let campus = try Workspace.load(site: Repository.example("campus"), profiles: Repository.profiles)
        let to = try Explainer.reachability(campus, host: "plc-1", direction: .to, port: 502)
        let sources = Set(to.flows.flatMap { $0.peers.map(\.host) })
        #expect(sources == ["scada-1", "scada-2", "sc-plugin"])
        #expect(to.flows.allSatisfy { $0.service == "modbus/modbus" && !$0.citations.isEmpty && $0.site != nil })
        let from = try Explainer.reachability(campus, host: "sc-plugin", direction: .from, port: 502)
        #expect(Set(from.flows.flatMap { $0.peers.map(\.host) }) == ["plc-1"])
        // Both of the plugin's addresses pair with plc-1.
        #expect(from.flows.flatMap { $0.peers.map(\.via) }.count == 2)
        let byAddress = try Explainer.reachability(campus, host: "10.10.1.21", direction: .to, port: 502)
        // Asked by address: that address's flows only (plc-1 has an IPv6 address too).
        #expect(byAddress.host == "plc-1" && byAddress.allowedCount == 4 && to.allowedCount == 6)
        #expect(try Explainer.reachability(campus, host: "plc-1", direction: .to, port: 503).flows.isEmpty)
        #expect(throws: Explainer.Failure.self) {
            try Explainer.reachability(campus, host: "plc-9", direction: .to)
        }
    }
}

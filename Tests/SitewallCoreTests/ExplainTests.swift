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
        for probe in probes where probe.delivery == nil && probe.transport != .icmp {
            let explanation = try Explainer.explain(
                workspace, from: "\(probe.fromAddress)", to: "\(probe.toAddress)", transport: probe.transport,
                port: probe.dport, sourcePort: probe.sport)
            #expect(explanation.verdict == probe.expected, "\(probe.label): \(explanation.steps)")
            compared += 1
        }
        #expect(compared > 5)
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
}

import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// `sitewall verify` against real packets: every example passes, a wrong ruleset fails and names
/// the flow, and no lab namespace outlives its run.
@Suite(.serialized, .kernel) struct VerifyLabTests {
    /// Namespaces left by one lab (other suites may run labs of their own at the same time).
    static func left(_ prefix: String) -> [String] { Lab.existingNamespaces(prefix: prefix + "-") }

    static func workspace(_ example: String) throws -> Workspace {
        try Workspace.load(site: Repository.example(example), profiles: Repository.profiles)
    }

    @Test(arguments: Repository.exampleNames)
    func everyExampleVerifies(_ example: String) throws {
        guard NftLoadTests.requireLab() else { return }
        let report = try Verifier.run(try Self.workspace(example))
        #expect(report.failed == 0, "\(report.text(onlyFailures: true))")
        #expect(report.results.contains { $0.probe.expected == .accept })
        #expect(report.results.contains { $0.probe.expected == .drop })
        #expect(Self.left(report.labPrefix).isEmpty)
    }

    @Test func helperSymmetricPortsAndIPv6AreProven() throws {
        guard NftLoadTests.requireLab() else { return }
        let video = try Verifier.run(try Self.workspace("megapower-video"))
        let tftp = video.results.filter { $0.probe.helper == .tftp }
        #expect(tftp.count >= 2 && tftp.allSatisfy { $0.observed == .passed })
        #expect(
            video.results.contains { $0.probe.service == "ntp/ntp" && $0.probe.sport == 123 && $0.observed == .passed })
        let campus = try Verifier.run(try Self.workspace("campus"))
        #expect(campus.results.contains { $0.probe.toAddress.family == .ipv6 && $0.observed == .passed })
        #expect(campus.results.contains { $0.probe.enforcement.hasPrefix("gw-1 forward") && $0.observed == .passed })
        #expect(
            campus.results.contains { $0.probe.enforcement.hasPrefix("gw-1 forward") && $0.probe.expected == .drop })
    }

    /// Issue 12, 1: a gateway serving DHCP to a zone answers a DISCOVER sent from 0.0.0.0 to the
    /// broadcast address, whatever loader puts its rules in.
    @Test(arguments: [BackendKind.nft, .netlink, .iptables])
    func aGatewayServesDHCPToItsZone(_ loader: BackendKind) throws {
        guard NftLoadTests.requireLab() else { return }
        let workspace = try SiteFixture.workspace(ProtocolTruthSites.dhcpOnAGateway)
        var options = Verifier.Options()
        if loader == .netlink { options.load = Verifier.Options.netlinkLoader }
        if loader == .iptables { options.load = Verifier.Options.iptablesLoader }
        let report = try Verifier.run(workspace, options: options)
        #expect(report.failed == 0, "\(report.text(onlyFailures: true))")
        let discover = report.results.filter { $0.probe.service == "dhcp/dhcp" && $0.probe.expected == .accept }
        #expect(!discover.isEmpty, "\(report.text())")
    }

    /// Issue 12, verify: broadcasts answered by each listener, a DISCOVER from 0.0.0.0 answered to
    /// the zone's broadcast, multicast I/O received by the joined scanner, and FTP data connections
    /// in both modes through the helper, with every loader.
    @Test(arguments: [BackendKind.nft, .netlink, .iptables])
    func protocolProbesPassWithEveryLoader(_ loader: BackendKind) throws {
        guard NftLoadTests.requireLab() else { return }
        var options = Verifier.Options()
        if loader == .netlink { options.load = Verifier.Options.netlinkLoader }
        if loader == .iptables { options.load = Verifier.Options.iptablesLoader }
        var kinds = Set<String>()
        for example in ["opto22-pac", "campus"] {
            let report = try Verifier.run(try Self.workspace(example), options: options)
            #expect(report.failed == 0, "\(loader) \(example): \(report.text(onlyFailures: true))")
            #expect(report.unprobed.isEmpty, "\(report.unprobed)")
            for result in report.results where result.probe.delivery != nil && result.observed == .passed {
                kinds.insert(result.probe.reason)
            }
        }
        // Modbus and BACnet uses with no operation filter may write (campus): the writes go through.
        #expect(
            kinds == [
                "broadcast", "multicast", "from 0.0.0.0", "ftp passive data", "ftp active data", "modbus write",
                "bacnet write-property",
            ], "\(kinds)")
    }

    /// Issue 15: read-only Modbus holds in every segment, with nft and over netlink: a read passes; a
    /// write, a write split before its function code and a read coalesced with a write are dropped;
    /// named peers and clusters keep each initiator to its own. Without the filter's rules the same
    /// write passes (the probe can tell).
    @Test(arguments: [BackendKind.nft, .netlink])
    func operationFiltersAndPeersHoldInTheKernel(_ loader: BackendKind) throws {
        guard NftLoadTests.requireLab() else { return }
        var options = Verifier.Options()
        if loader == .netlink { options.load = Verifier.Options.netlinkLoader }
        let report = try Verifier.run(try Self.workspace("water-plant"), options: options)
        #expect(report.failed == 0, "\(report.text(onlyFailures: true))")
        let modbus = report.results.filter { $0.probe.reason.hasPrefix("modbus ") && $0.probe.from == "historian" }
        let observed = Dictionary(uniqueKeysWithValues: modbus.map { ($0.probe.reason, $0.observed) })
        #expect(
            observed == [
                "modbus read": .passed, "modbus write": .dropped, "modbus split-write": .dropped,
                "modbus read-then-write": .dropped,
            ], "\(observed)")
        #expect(report.results.filter { $0.probe.reason == "not its peer" }.count >= 4)
        // Read-only BACnet: the workstation's ReadProperty and Who-Is pass, its writes do not; the air
        // handlers, which nothing narrows, still reach it.
        let bacnet = report.results.filter { $0.probe.from == "bms-ws" && $0.probe.reason.hasPrefix("bacnet ") }
        #expect(
            Dictionary(uniqueKeysWithValues: bacnet.map { ($0.probe.reason, $0.observed) }) == [
                "bacnet read-property": .passed, "bacnet write-property": .dropped,
                "bacnet reinitialize-device": .dropped,
            ])
        #expect(
            report.results.contains {
                $0.probe.from == "bms-ws" && $0.probe.reason == "broadcast" && $0.observed == .passed
            })
        #expect(
            report.results.contains { $0.probe.to == "bms-ws" && $0.probe.reason == "flow" && $0.observed == .passed })

        var unfiltered = options
        unfiltered.load = { lab, target, policy in
            var open = policy
            for index in open.table.chains.indices {
                open.table.chains[index].rules.removeAll { $0.payload != nil }
            }
            if loader == .netlink {
                try Verifier.Options.netlinkLoader(lab, target, open)
            } else {
                try lab.load(nft: NftBackend.render(open), into: target.name)
            }
        }
        let without = try Verifier.run(try Self.workspace("water-plant"), options: unfiltered)
        #expect(
            without.results.contains {
                $0.probe.from == "historian" && $0.probe.reason == "modbus write" && $0.observed == .passed
            })
        #expect(
            without.results.contains {
                $0.probe.from == "bms-ws" && $0.probe.reason == "bacnet write-property" && $0.observed == .passed
            })
    }

    /// The probes prove what they claim: without the answer rules of broadcast services and without
    /// the helpers, the same probes fail.
    @Test func withoutReplyRulesAndHelpersTheProtocolProbesFail() throws {
        guard NftLoadTests.requireLab() else { return }
        var options = Verifier.Options()
        options.tamper = { _, policy in
            policy.table.helpers = []
            for c in policy.table.chains.indices {
                policy.table.chains[c].rules.removeAll { $0.origin?.kind == .reply }
                for r in policy.table.chains[c].rules.indices { policy.table.chains[c].rules[r].helper = nil }
            }
        }
        let report = try Verifier.run(try Self.workspace("opto22-pac"), options: options)
        let failed = Set(report.failures.filter { $0.probe.delivery != nil }.map(\.probe.reason))
        #expect(
            failed.isSuperset(of: ["broadcast", "from 0.0.0.0", "ftp passive data", "ftp active data"]), "\(failed)")
    }

    /// Issue 12, 2: a BACnet device moved to 47809 is probed from 47809 (its own port), and passes.
    @Test func anOverriddenSymmetricPortIsProbedFromItself() throws {
        guard NftLoadTests.requireLab() else { return }
        let workspace = try SiteFixture.workspace(ProtocolTruthSites.bacnetMoved)
        let report = try Verifier.run(workspace)
        #expect(report.failed == 0, "\(report.text(onlyFailures: true))")
        let fromMoved = report.results.filter { $0.probe.service == "bacnet/bacnet" && $0.probe.sport == 47809 }
        #expect(fromMoved.contains { $0.probe.expected == .accept && $0.observed == .passed }, "\(report.text())")
    }

    @Test func withoutTheTftpHelperTheTransferFails() throws {
        guard NftLoadTests.requireLab() else { return }
        var options = Verifier.Options()
        options.tamper = { _, policy in
            policy.table.helpers = []
            for c in policy.table.chains.indices {
                for r in policy.table.chains[c].rules.indices { policy.table.chains[c].rules[r].helper = nil }
            }
        }
        let report = try Verifier.run(try Self.workspace("megapower-video"), options: options)
        let tftp = report.failures.filter {
            $0.probe.service == "megapower/snapshot" || $0.probe.service == "megapower/time-firmware"
        }
        #expect(!tftp.isEmpty && tftp.allSatisfy { $0.observed == .dropped })
    }

    @Test func aMissingAcceptRuleFailsAndNamesTheFlow() throws {
        guard NftLoadTests.requireLab() else { return }
        var options = Verifier.Options()
        options.tamper = { target, policy in
            guard target.name == "scada-primary",
                let input = policy.table.chains.firstIndex(where: { $0.name == "input" })
            else { return }
            policy.table.chains[input].rules.removeAll { $0.origin?.service == "plant-scada/alarm" }
        }
        let report = try Verifier.run(try Self.workspace("plant-scada"), options: options)
        #expect(report.failed > 0)
        #expect(
            report.failures.allSatisfy { $0.probe.service == "plant-scada/alarm" && $0.probe.to == "scada-primary" })
        #expect(report.text().contains("FAIL  expected open   observed dropped"))
        #expect(report.text().contains("-> scada-primary 10.30.2.11 tcp/2080 (plant-scada/alarm)"))
        #expect(Self.left(report.labPrefix).isEmpty)
    }

    @Test func anExtraOpenPortFails() throws {
        guard NftLoadTests.requireLab() else { return }
        var options = Verifier.Options()
        options.tamper = { target, policy in
            guard target.name == "plc-1", let input = policy.table.chains.firstIndex(where: { $0.name == "input" })
            else { return }
            var rule = Rule(verdict: .accept)
            rule.transport = .tcp
            rule.dport = PortSet(9)
            policy.table.chains[input].rules.append(rule)
        }
        let report = try Verifier.run(try Self.workspace("plant-scada"), options: options)
        #expect(report.failures.count == 1)
        #expect(report.failures.first?.probe.to == "plc-1" && report.failures.first?.probe.dport == 9)
    }

    @Test func aLabThatFailsHalfwayLeavesNoNamespace() throws {
        guard NftLoadTests.requireLab() else { return }
        struct Injected: Error {}
        var options = Verifier.Options()
        var loaded = 0
        var prefix = ""
        options.load = { lab, target, policy in
            prefix = lab.plan.prefix
            loaded += 1
            if loaded == 3 { throw Injected() }
            try lab.load(nft: NftBackend.render(policy), into: target.name)
        }
        #expect(throws: Injected.self) { try Verifier.run(try Self.workspace("campus"), options: options) }
        #expect(!prefix.isEmpty && Self.left(prefix).isEmpty)
    }

    @Test func withoutPrivilegesVerifySaysSoAndExitsTwo() throws {
        guard NftLoadTests.requireLab() else { return }
        // A copy user nobody can reach, wherever the checkout lives (a home folder may be closed to it).
        let scratch = try ScratchDirectory("sitewall-nobody")
        let copy = try Run.program(
            "/bin/sh",
            [
                "-c",
                "chmod 755 \"$0\" && cp \"$1\" \"$0\"/sitewall && cp -r \"$2\" \"$0\"/profiles "
                    + "&& cp \"$3\" \"$0\"/site.yaml && chmod -R a+rX \"$0\"",
                scratch.path, Repository.executable, Repository.profiles,
                Repository.example("megapower-video"),
            ])
        try #require(copy.status == 0, "\(copy.stderr)")
        let result = try Run.program(
            "/usr/bin/setpriv",
            [
                "--reuid=65534", "--regid=65534", "--clear-groups",
                scratch.file("sitewall"), "verify", scratch.file("site.yaml"),
                "--profiles", scratch.file("profiles"),
            ])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(
            result.stderr.contains("verify needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create network namespaces"))
    }

    /// Ctrl-C while the lab is being built or probed. The earliest moment is the one CI caught: the
    /// same Ctrl-C kills the `ip` child, the failed build's own teardown starts, and the handler (finding
    /// the lab already being torn down) exited at once, leaving every namespace behind.
    @Test(arguments: [0, 300, 1500])
    func interruptedVerifyRemovesItsLab(afterMilliseconds delay: Int) throws {
        guard NftLoadTests.requireLab() else { return }
        let scratch = try ScratchDirectory("sitewall-test")
        let before = Set(Lab.existingNamespaces(prefix: "swl"))
        let foldersBefore = ScratchDirectory.temporaryFolders(startingWith: ["sitewall-lab-"])
        let job = try ForegroundJob(
            Repository.executable,
            ["verify", Repository.example("campus"), "--profiles", Repository.profiles, "--timeout", "10"],
            stderr: scratch.file("stderr"))
        // The lab's names start with the process id (Lab.init), whose number an earlier, ended process
        // may have had: only namespaces that were not there before count.
        let prefix = "swl\(job.pid)x"
        let ours = { Lab.existingNamespaces(prefix: prefix).filter { !before.contains($0) } }
        let deadline = Date().addingTimeInterval(20)
        while ours().count < 10 && Date() < deadline { usleep(5_000) }
        #expect(ours().count >= 10)
        usleep(useconds_t(delay * 1000))
        // As Ctrl-C does: the whole foreground process group, children included.
        kill(-job.pid, SIGINT)
        #expect(job.wait(seconds: 30) == 130, "\(job.stderr)")
        #expect(job.stderr.contains("interrupted; the lab was removed"))
        #expect(ours().isEmpty)
        // Nor its scratch folder (a half-written script kept one once).
        #expect(
            ScratchDirectory.temporaryFolders(startingWith: ["sitewall-lab-\(prefix)"]).subtracting(foldersBefore)
                .isEmpty)
    }

    /// A signal's teardown waits for one another thread has begun: the handler exits the process once
    /// `tearDownAll` returns, so a teardown still under way would be cut off with namespaces left.
    @Test func aSignalWaitsForATeardownUnderWay() throws {
        guard NftLoadTests.requireLab() else { return }
        let lab = Lab(site: try Self.workspace("campus").resolved)
        let prefix = lab.plan.prefix
        defer { lab.tearDown() }
        try lab.build()
        #expect(Self.left(prefix).count >= 20)
        let other = Thread { lab.tearDown() }
        other.start()
        // Removing 22 namespaces takes far longer than this (a shell and an `ip` per namespace).
        usleep(50_000)
        Lab.tearDownLive()
        #expect(Self.left(prefix).isEmpty)
    }

    /// A file the work writes into the lab's folder while a signal's teardown runs beside it (the
    /// interrupt test left one, half written, in CI's temporary folder) is finished before the folder
    /// goes, or refused after: the folder never outlives the lab.
    @Test func aFileWrittenDuringTeardownLeavesNoFolder() throws {
        guard NftLoadTests.requireLab() else { return }
        let lab = Lab(site: try Self.workspace("megapower-video").resolved)
        defer { lab.tearDown() }
        let text = String(repeating: "# a line of a long nft script, as a large site's is\n", count: 40_000)
        for round in 0..<4 {
            try lab.build()
            let writer = Thread {
                var n = 0
                while !Thread.current.isCancelled {
                    _ = try? lab.writeScratch(text, named: "w\(n % 4).nft")
                    n += 1
                }
            }
            writer.start()
            usleep(useconds_t(20_000 + round * 7_000))
            lab.tearDown()
            usleep(30_000)
            writer.cancel()
            usleep(30_000)
            #expect(!FileManager.default.fileExists(atPath: lab.scratchPath), "round \(round)")
            try? FileManager.default.removeItem(atPath: lab.scratchPath)
        }
    }
}

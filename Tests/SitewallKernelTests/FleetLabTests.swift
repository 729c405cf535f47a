import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 18: the Ansible collection rolls a site out over real SSH. The fleet lab example stands up as
/// network namespaces (the gateway routes between the management and plant zones), openssh-server runs
/// in the gateway and each Linux host (a private /run each), and ansible-playbook runs in the engineering
/// station's namespace with keys made for the test: every target gets its rules, a second run changes
/// nothing, `--check --diff` shows a pending change and makes none, a change that cuts the station off
/// from the plant is rolled back by the gateway's watchdog while the hosts keep their rules, and the
/// lockout guard refuses, over the module's own SSH connection, rules that would cut it.
@Suite(.serialized, .enabled(if: Fleet.isAvailable || NetnsSandbox.mustRun, "needs ansible-core, sshd, namespaces"))
struct FleetLabTests {
    static let collection = Repository.root + "/ansible/ansible_collections/sitewall/site"
    static let site = collection + "/examples/fleet-lab.yaml"

    /// The fleet lab's namespaces, keys and configuration, with sshd in `hosts`; the caller tears the lab down.
    static func standUp(sshIn hosts: [String]) throws -> (ScratchDirectory, Lab, Fleet) {
        try #require(Fleet.isAvailable, "missing: \(Fleet.missing)")
        let scratch = try ScratchDirectory("sitewall-fleet")
        let workspace = try Workspace.load(site: site, profiles: Repository.profiles)
        let lab = Lab(site: workspace.resolved)
        do {
            try lab.build()
            let fleet = try Fleet(lab: lab, scratch: scratch, site: site)
            for host in hosts { try fleet.startSSH(in: host) }
            return (scratch, lab, fleet)
        } catch {
            lab.tearDown()
            throw error
        }
    }

    @Test func theRolloutPlaybookOverRealSSH() throws {
        let (scratch, lab, fleet) = try Self.standUp(sshIn: ["gw-1", "hist-1", "hmi-1"])
        defer { lab.tearDown() }

        // 1. The first rollout: every target gets its rules; the PLC (no SSH) is left alone.
        let first = try fleet.playbook()
        try #require(first.status == 0, "\(first.stdout.suffix(4000))\(first.stderr.suffix(2000))")
        for (target, kind) in [("gw-1", "gateway"), ("hist-1", "host"), ("hmi-1", "host")] {
            #expect(try fleet.diff(target, kind: kind, site: Self.site) == 0, "\(target) runs the site's rules")
            #expect(Fleet.recap(first.stdout, target)?.changed ?? 0 > 0, "\(target) changed")
        }
        #expect(try fleet.inNamespace("plc-1", "nft list tables").stdout.isEmpty)
        // --persist: each target's boot script, written on confirmation, is what the site compiles to.
        for (target, kind) in [("gw-1", "gateway"), ("hist-1", "host"), ("hmi-1", "host")] {
            let compiled = try Run.program(
                Repository.executable, ["compile", Self.site, "--\(kind)", target, "--profiles", Repository.profiles])
            let boot = try? String(contentsOfFile: scratch.file("boot-\(target).nft"), encoding: .utf8)
            #expect(boot == compiled.stdout, "\(target)'s boot script")
        }
        let gatewayBoot = try String(contentsOfFile: scratch.file("boot-gw-1.nft"), encoding: .utf8)

        // 2. Idempotent: nothing changes the second time.
        let second = try fleet.playbook()
        #expect(second.status == 0, "\(second.stdout.suffix(2000))")
        for target in ["gw-1", "hist-1", "hmi-1"] {
            #expect(Fleet.recap(second.stdout, target)?.changed == 0, "\(target): \(second.stdout.suffix(1500))")
        }

        // 3. --check --diff: a new plant host shows as pending on every target; nothing changes.
        let grown = scratch.file("grown.yaml")
        try (try String(contentsOfFile: Self.site, encoding: .utf8)).replacingOccurrences(
            of: "  plc-1:", with: "  plc-2: { address: 10.60.2.22, roles: [modbus/server] }\n  plc-1:"
        ).write(toFile: grown, atomically: true, encoding: .utf8)
        let check = try fleet.playbook(site: grown, extra: ["--check", "--diff"])
        #expect(check.status == 0, "\(check.stdout.suffix(3000))")
        #expect(check.stdout.contains("10.60.2.22"), "the diff names the new PLC: \(check.stdout.suffix(3000))")
        #expect(Fleet.recap(check.stdout, "gw-1")?.changed ?? 0 > 0)
        for (target, kind) in [("gw-1", "gateway"), ("hist-1", "host"), ("hmi-1", "host")] {
            #expect(try fleet.diff(target, kind: kind, site: Self.site) == 0, "--check changed \(target)")
        }

        // 4. A change that cuts the station off from the plant (no SSH through the gateway): the gateway's
        // rules are not confirmed, the play stops before the hosts, and the watchdog restores the gateway.
        let cut = scratch.file("cut.yaml")
        // (sitewall check refuses the change while the hosts name eng-1 as their management station.)
        try (try String(contentsOfFile: Self.site, encoding: .utf8)).replacingOccurrences(
            of: "services: [ssh, modbus]", with: "services: [modbus]"
        ).replacingOccurrences(of: ", management: [eng-1] }", with: " }")
            .write(toFile: cut, atomically: true, encoding: .utf8)
        let started = Date()
        let failed = try fleet.playbook(
            site: cut, extra: ["-e", "sitewall_confirm_seconds=6", "-e", "sitewall_reach_timeout=3"])
        #expect(failed.status != 0)
        #expect(
            failed.stdout.contains("the new rules of gateway gw-1 were not confirmed"), "\(failed.stdout.suffix(3000))")
        #expect(failed.stdout.contains("a managed host through them"))
        #expect(Fleet.recap(failed.stdout, "hist-1") == nil, "the play stopped before the hosts")
        var restored = false
        while Date().timeIntervalSince(started) < 40 && !restored {
            restored = try fleet.diff("gw-1", kind: "gateway", site: Self.site) == 0
            if !restored { Thread.sleep(forTimeInterval: 0.5) }
        }
        #expect(restored, "the watchdog put gw-1's previous rules back")
        for target in ["hist-1", "hmi-1"] {
            #expect(try fleet.diff(target, kind: "host", site: Self.site) == 0, "\(target) kept its rules")
        }
        // The gateway boots with the site it runs: the rejected one was only staged.
        let installed = try String(contentsOfFile: scratch.file("site-gw-1.yaml"), encoding: .utf8)
        #expect(installed == (try String(contentsOfFile: Self.site, encoding: .utf8)))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("site-gw-1.yaml.pending")))
        // ... and its boot script is still the confirmed one: persist waits for a confirmation that never came.
        #expect(try String(contentsOfFile: scratch.file("boot-gw-1.nft"), encoding: .utf8) == gatewayBoot)

        // 5. The lockout guard sees the module's SSH connection: rules without SSH for hist-1 are refused.
        let closed = scratch.file("closed.yaml")
        try (try String(contentsOfFile: Self.site, encoding: .utf8)).replacingOccurrences(
            of: "hist-1: { address: 10.60.2.11, roles: [ssh/server, modbus/client], management: [eng-1] }",
            with: "hist-1: { address: 10.60.2.11, roles: [modbus/client] }"
        ).write(toFile: closed, atomically: true, encoding: .utf8)
        let refused = try fleet.module(
            host: "hist-1", arguments: "site=\(closed) name=hist-1 kind=host confirm=30")
        #expect(refused.status != 0)
        #expect(refused.stdout.contains("would cut the management path"), "\(refused.stdout.suffix(2000))")
        #expect(refused.stdout.contains("SSH"), "\(refused.stdout.suffix(2000))")
        #expect(try fleet.diff("hist-1", kind: "host", site: Self.site) == 0, "nothing changed on hist-1")
    }
}

extension FleetLabTests {
    /// The first apply on a machine, over the SSH session conntrack has not seen: it returns at once
    /// (it stalled until the rollback timer before SSH flows got their reply direction without SYN).
    @Test func anApplyOverAnUntrackedSSHSessionReturnsAtOnce() throws {
        let (scratch, lab, fleet) = try Self.standUp(sshIn: ["hist-1"])
        defer { lab.tearDown() }
        let apply = Fleet.quoted([
            Repository.executable, "apply", Self.site, "--host", "hist-1", "--confirm", "20", "--profiles",
            Repository.profiles,
        ])
        let started = Date()
        let result = try fleet.inNamespace(
            "eng-1",
            "ssh -T -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
                + "-i '\(scratch.file("id_ed25519"))' root@10.60.2.11 \"\(apply) > /dev/null && echo applied\" < /dev/null"
        )
        let seconds = Date().timeIntervalSince(started)
        #expect(result.stdout.contains("applied"), "\(result.stdout)\(result.stderr)")
        #expect(seconds < 10, "the SSH session stalled for \(seconds) s")
        let confirmed = try fleet.inNamespace(
            "eng-1",
            "ssh -T -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
                + "-i '\(scratch.file("id_ed25519"))' root@10.60.2.11 '\(Repository.executable) confirm' < /dev/null")
        #expect(confirmed.stdout.contains("confirmed: the new ruleset stays"), "\(confirmed.stderr)")
    }
}

/// The pieces of the fleet lab: keys, sshd per target, and ansible-playbook in the station's namespace.
final class Fleet {
    static let tools = ["/usr/bin/ansible-playbook", "/usr/sbin/sshd", "/usr/bin/ssh-keygen", "/usr/bin/unshare"]
    static var missing: [String] { tools.filter { !FileManager.default.isExecutableFile(atPath: $0) } }
    static var isAvailable: Bool { missing.isEmpty && NetnsSandbox.isAvailable }

    let lab: Lab
    let scratch: ScratchDirectory
    let site: String

    init(lab: Lab, scratch: ScratchDirectory, site: String) throws {
        self.lab = lab
        self.scratch = scratch
        self.site = site
        let setup = try Run.program(
            "/bin/sh",
            [
                "-c",
                """
                set -e; cd '\(scratch.path)'
                ssh-keygen -q -t ed25519 -N '' -f id_ed25519 -C sitewall-fleet-test
                ssh-keygen -q -t ed25519 -N '' -f host_ed25519 -C sitewall-fleet-host
                cp id_ed25519.pub authorized_keys
                mkdir -p home local cp
                """,
            ])
        try #require(setup.status == 0, "\(setup.stderr)")
        try """
        Port 22
        ListenAddress 0.0.0.0
        HostKey \(scratch.file("host_ed25519"))
        PermitRootLogin prohibit-password
        AuthorizedKeysFile \(scratch.file("authorized_keys"))
        StrictModes no
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PidFile none
        UseDNS no
        GSSAPIAuthentication no
        Subsystem sftp /usr/lib/openssh/sftp-server

        """.write(toFile: scratch.file("sshd_config"), atomically: true, encoding: .utf8)
        try """
        [defaults]
        host_key_checking = False
        remote_user = root
        private_key_file = \(scratch.file("id_ed25519"))
        interpreter_python = /usr/bin/python3
        remote_tmp = \(scratch.file("remote"))
        local_tmp = \(scratch.file("local"))
        collections_path = \(Repository.root)/ansible
        nocolor = True
        forks = 5
        timeout = 10

        [ssh_connection]
        ssh_args = -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o GSSAPIAuthentication=no -o ControlMaster=auto -o ControlPersist=60s
        control_path_dir = \(scratch.file("cp"))

        """.write(toFile: scratch.file("ansible.cfg"), atomically: true, encoding: .utf8)
        let inventory = try Run.program(
            Repository.executable, ["inventory", site, "--controller", "eng-1", "--profiles", Repository.profiles])
        try #require(inventory.status == 0, "\(inventory.stderr)")
        try inventory.stdout.write(toFile: scratch.file("inventory.json"), atomically: true, encoding: .utf8)
    }

    func namespace(_ host: String) throws -> String { try #require(lab.plan.node(for: host)).namespace }

    /// sshd in the target's namespace, with a private /run (its privilege separation folder and sitewall's
    /// state live there, not in the machine's /run). It dies with the lab.
    func startSSH(in host: String) throws {
        let command =
            "ip netns exec \(try namespace(host)) unshare --mount --propagation private /bin/sh -c "
            + "'mount -t tmpfs sitewall-fleet /run && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -f "
            + "\(scratch.file("sshd_config"))' > '\(scratch.file("sshd-\(host).log"))' 2>&1 &"
        try #require(try Run.program("/bin/sh", ["-c", command]).status == 0)
        // Ready when the port answers (from the station, the path the play takes).
        let address = try #require(
            lab.plan.node(for: host)?.interfaces.first?.addresses.first?.split(separator: "/").first)
        for _ in 0..<50 {
            let probe = try inNamespace(
                "eng-1", "python3 -c \"import socket; socket.create_connection(('\(address)', 22), 0.2)\"")
            if probe.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record(
            "sshd in \(host) did not answer: \((try? String(contentsOfFile: scratch.file("sshd-\(host).log"), encoding: .utf8)) ?? "")"
        )
    }

    func inNamespace(_ host: String, _ command: String) throws -> ProcessResult {
        try Run.program("/usr/sbin/ip", ["netns", "exec", try namespace(host), "/bin/sh", "-c", command])
    }

    var environment: String {
        "HOME='\(scratch.file("home"))' ANSIBLE_CONFIG='\(scratch.file("ansible.cfg"))' ANSIBLE_FORCE_COLOR=0 "
            + "ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3"
    }

    var variables: [String] {
        [
            "-e", "sitewall_executable=\(Repository.executable)",
            "-e", "{\"sitewall_profiles\": [\"\(Repository.profiles)\"]}",
            "-e", "sitewall_remote_site=\(scratch.path)/site-{{ inventory_hostname }}.yaml",
            "-e", "sitewall_persist=\(scratch.path)/boot-{{ inventory_hostname }}.nft",
        ]
    }

    static func quoted(_ words: [String]) -> String {
        words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    }

    /// The collection's rollout playbook from the station, with the site on the controller.
    func playbook(site: String? = nil, extra: [String] = []) throws -> ProcessResult {
        let arguments =
            [
                "-i", scratch.file("inventory.json"), "sitewall.site.rollout", "-e",
                "sitewall_site_file=\(site ?? self.site)",
            ]
            + variables + extra
        return try inNamespace("eng-1", "\(environment) ansible-playbook \(Self.quoted(arguments)) 2>&1")
    }

    /// One module call on one target (ad hoc), as a play's task would run it.
    func module(host: String, arguments: String) throws -> ProcessResult {
        let words = [
            host, "-i", scratch.file("inventory.json"), "-m", "sitewall.site.rules", "-a",
            "\(arguments) executable=\(Repository.executable) profiles=\(Repository.profiles)",
        ]
        return try inNamespace("eng-1", "\(environment) ansible \(Self.quoted(words)) 2>&1")
    }

    /// `sitewall diff` inside the target's namespace: 0 when it runs what `site` compiles to.
    func diff(_ host: String, kind: String, site: String) throws -> Int32 {
        try inNamespace(
            host,
            "\(Self.quoted([Repository.executable, "diff", site, "--\(kind)", host, "--profiles", Repository.profiles])) "
                + "> /dev/null 2>&1"
        ).status
    }

    /// "gw-1 : ok=9 changed=2 unreachable=0 failed=0 ..." from the play recap.
    static func recap(_ output: String, _ host: String) -> (ok: Int, changed: Int, failed: Int)? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix(host + " ") && $0.contains("ok=") })
        else { return nil }
        func value(_ key: String) -> Int {
            line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
                ?? -1
        }
        return (value("ok"), value("changed"), value("failed"))
    }
}

/// Issue 18: the collection passes ansible-lint (production profile), its playbook a syntax check, and
/// its module's documentation loads (ansible-doc parses DOCUMENTATION, EXAMPLES and RETURN).
@Suite(
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ansible-lint") || NetnsSandbox.mustRun,
        "needs ansible-lint and ansible-core"))
struct AnsibleCollectionTests {
    static func run(_ command: String) throws -> ProcessResult {
        let scratch = try ScratchDirectory("sitewall-ansible")
        return try Run.program(
            "/bin/sh",
            [
                "-c",
                "cd '\(FleetLabTests.collection)' && HOME='\(scratch.path)' ANSIBLE_NOCOLOR=1 NO_COLOR=1 "
                    + "ANSIBLE_COLLECTIONS_PATH='\(Repository.root)/ansible' \(command) 2>&1",
            ])
    }

    @Test func theCollectionPassesAnsibleLint() throws {
        let lint = try Self.run("ansible-lint --offline --profile production")
        #expect(lint.status == 0, "\(lint.stdout.suffix(3000))")
        #expect(lint.stdout.contains("Passed"), "\(lint.stdout.suffix(3000))")
    }

    @Test func thePlaybookParsesAndTheModuleDocumentsItself() throws {
        let syntax = try Self.run("ansible-playbook --syntax-check -i localhost, sitewall.site.rollout")
        #expect(syntax.status == 0, "\(syntax.stdout)")
        let doc = try Self.run("ansible-doc sitewall.site.rules")
        #expect(doc.status == 0 && doc.stdout.contains("state_directory"), "\(doc.stdout.suffix(2000))")
        // Compiled in memory: no __pycache__ left in the repository.
        let compiled = try Self.run(
            "python3 -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], \"exec\")' plugins/modules/rules.py"
        )
        #expect(compiled.status == 0, "\(compiled.stdout)")
    }
}

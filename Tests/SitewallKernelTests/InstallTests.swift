import Foundation
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Issue 17: `make install` and the Debian package give a working tool without the checkout or the
/// Swift toolchain. `make test` runs `make deb` first, which installs into .build/deb and packs it;
/// these tests run those files in a mount namespace of their own with the checkout hidden.
@Suite(.serialized, .kernel) struct InstallTests {
    static var tree: String { Repository.root + "/.build/deb" }

    static var package: String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Repository.root + "/.build")) ?? []
        return names.filter { $0.hasPrefix("sitewall_") && $0.hasSuffix(".deb") }.sorted().last
            .map { Repository.root + "/.build/" + $0 }
    }

    /// Whether `make test` (or `make install DESTDIR=...`) left the tree; under CI it must have.
    static func requireTree() -> Bool {
        if FileManager.default.isExecutableFile(atPath: tree + "/usr/bin/sitewall") { return true }
        if NetnsSandbox.mustRun {
            Issue.record("no installed tree in \(tree): run the tests with make test")
        } else {
            print("skipping install test: no \(tree) (make test runs make deb)")
        }
        return false
    }

    /// The Swift toolchain's folder (hidden: the installed binary carries its runtime).
    static var toolchain: String {
        let swift = (try? Run.program("/bin/sh", ["-c", "readlink -f \"$(command -v swift)\""]))?.stdout ?? ""
        let url = URL(fileURLWithPath: swift.trimmingCharacters(in: .whitespacesAndNewlines))
        // .../usr/bin/swift -> the folder above usr; never "/" (that would hide everything).
        let folder = url.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        return folder.count > 1 ? folder : Repository.root
    }

    /// Runs `script` with the installed tree at /mnt/root, the checkout and the toolchain hidden,
    /// /run private and a network namespace of its own.
    static func run(_ script: String) throws -> ProcessResult {
        try Run.program(
            "/usr/bin/unshare",
            [
                "--mount", "--net", "--propagation", "private", "/bin/bash", "-c",
                """
                set -e
                mount -t tmpfs none /run
                mount -t tmpfs none /mnt && mkdir /mnt/root && cp -a \(tree)/. /mnt/root/
                mount -t tmpfs none \(Repository.root)
                mount -t tmpfs none \(toolchain)
                cd /
                \(script)
                """,
            ])
    }

    @Test func theInstalledToolWorksWithoutTheCheckout() throws {
        guard NftLoadTests.requireLab(), Self.requireTree() else { return }
        let result = try Self.run(
            """
            ls \(Repository.root) | wc -l
            command -v swift || echo "no swift"
            bin=/mnt/root/usr/bin/sitewall
            examples=/mnt/root/usr/share/sitewall/examples
            $bin --version
            $bin check $examples/campus.yaml
            $bin compile $examples/campus.yaml --gateway gw-1 | nft -c -f - && echo "gw-1 loads"
            $bin profiles show modbus | head -3
            $bin verify $examples/opto22-pac.yaml --timeout 2 | tail -1
            """)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "0", "the checkout was not hidden")
        #expect(lines.dropFirst().first == "no swift", "the toolchain was not hidden")
        #expect(result.stdout.contains("sitewall 0.2.0 (profiles 2026.11.22 in /mnt/root/usr/share/sitewall/profiles)"))
        #expect(result.stdout.contains("0 errors, 0 warnings"))
        #expect(result.stdout.contains("gw-1 loads"))
        #expect(result.stdout.contains("file: /mnt/root/usr/share/sitewall/profiles/protocols/modbus.yaml"))
        #expect(result.stdout.contains(" 0 failed"), "\(result.stdout)")
    }

    /// Man pages, completions and the boot unit are installed where their tools look for them.
    @Test func manPagesCompletionsAndTheBootUnitAreInstalled() throws {
        guard Self.requireTree() else { return }
        let share = Self.tree + "/usr/share"
        for page in [
            "sitewall", "sitewall.apply", "sitewall.compile", "sitewall.diff", "sitewall.explain", "sitewall.verify",
            "sitewall.report", "sitewall.stats", "sitewall.inventory",
        ] {
            let text = (try? String(contentsOfFile: "\(share)/man/man1/\(page).1", encoding: .utf8)) ?? ""
            #expect(text.contains(".Sh NAME") && text.contains(".Sh SYNOPSIS"), "\(page).1")
        }
        let bash = (try? String(contentsOfFile: "\(share)/bash-completion/completions/sitewall", encoding: .utf8)) ?? ""
        #expect(bash.contains("complete") && bash.contains("--gateway"))
        #expect(FileManager.default.fileExists(atPath: "\(share)/zsh/site-functions/_sitewall"))
        #expect(FileManager.default.fileExists(atPath: "\(share)/fish/vendor_completions.d/sitewall.fish"))
        let unit =
            (try? String(contentsOfFile: Self.tree + "/lib/systemd/system/sitewall.service", encoding: .utf8)) ?? ""
        #expect(
            unit.contains(
                "ExecStart=/usr/bin/sitewall apply /etc/sitewall/site.yaml --target-file /etc/sitewall/target --force"))
        #expect(unit.contains("Before=network-pre.target") && unit.contains("After=local-fs.target nftables.service"))
    }

    /// What the boot unit runs, from the installed files: the target file names the machine.
    @Test func theBootCommandAppliesTheTargetNamedInTheTargetFile() throws {
        guard NftLoadTests.requireLab(), Self.requireTree() else { return }
        let result = try Self.run(
            """
            mkdir -p /mnt/etc && cp /mnt/root/usr/share/sitewall/examples/campus.yaml /mnt/etc/site.yaml
            printf '# this machine\\ngateway gw-1\\n' > /mnt/etc/target
            command=$(sed -n 's|^ExecStart=/usr/bin/sitewall|/mnt/root/usr/bin/sitewall|p' \\
                /mnt/root/lib/systemd/system/sitewall.service | sed 's|/etc/sitewall/|/mnt/etc/|g')
            $command
            nft list chain inet sitewall forward | grep -c accept
            printf 'router gw-1\\n' > /mnt/etc/target
            $command || echo "exit $?"
            """)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("applied"), "\(result.stdout)")
        #expect(result.stderr.contains("/mnt/etc/target: expected one line 'host NAME' or 'gateway NAME'"))
        #expect(result.stdout.contains("exit 64"))
    }

    /// The package installs with dpkg into a copy of this machine without the toolchain or the
    /// checkout (an overlay over / in a mount namespace), and works there from its files alone.
    @Test func theDebianPackageInstallsAndWorksOnAMachineWithoutTheToolchain() throws {
        guard NftLoadTests.requireLab(), Self.requireTree() else { return }
        guard let package = Self.package else {
            Issue.record("no .build/sitewall_*.deb: make deb")
            return
        }
        let result = try Run.program(
            "/usr/bin/unshare",
            [
                "--mount", "--net", "--propagation", "private", "/bin/bash", "-c",
                """
                set -e
                mount -t tmpfs none /mnt
                mkdir /mnt/upper /mnt/work /mnt/root
                mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root
                root=/mnt/root
                # Private tmpfs for /dev, /run and /tmp: nothing in there reaches the machine's.
                mount -t tmpfs none $root/dev && touch $root/dev/null && mount --bind /dev/null $root/dev/null
                # The checkout and the toolchain first: either may live under /tmp, which is hidden next.
                for d in \(Repository.root) \(Self.toolchain) /run /tmp; do mount -t tmpfs none $root$d; done
                mount -t proc proc $root/proc
                mount -t sysfs sysfs $root/sys
                cp \(package) $root/tmp/sitewall.deb
                chroot $root /bin/sh -c '
                  set -e
                  command -v swift || echo "no swift"
                  ls \(Repository.root) | wc -l
                  dpkg -i /tmp/sitewall.deb > /dev/null && echo "installed"
                  sitewall --version
                  sitewall check /usr/share/sitewall/examples/campus.yaml
                  sitewall compile /usr/share/sitewall/examples/campus.yaml --gateway gw-1 | nft -c -f - && echo loads
                  sitewall verify /usr/share/sitewall/examples/opto22-pac.yaml --timeout 2 | tail -1
                  mkdir -p /etc/sitewall && cp /usr/share/sitewall/examples/campus.yaml /etc/sitewall/site.yaml
                  echo "gateway gw-1" > /etc/sitewall/target
                  $(sed -n "s/^ExecStart=//p" /lib/systemd/system/sitewall.service) > /dev/null
                  nft list chain inet sitewall forward | grep -q "tcp dport 502" && echo "boot unit applied"
                  dpkg -L sitewall | grep -c "^/usr/share/man/man1/sitewall"
                  dpkg -r sitewall > /dev/null && test ! -e /usr/bin/sitewall && echo removed
                '
                """,
            ])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(3)) == ["no swift", "0", "installed"], "\(result.stdout)")
        #expect(result.stdout.contains("sitewall 0.2.0 (profiles 2026.11.22 in /usr/share/sitewall/profiles)"))
        #expect(result.stdout.contains("0 errors, 0 warnings") && result.stdout.contains("loads"))
        #expect(result.stdout.contains(" 0 failed"), "\(result.stdout)")
        #expect(result.stdout.contains("boot unit applied"), "\(result.stdout)")
        #expect(result.stdout.contains("\n18\n") && result.stdout.contains("removed"), "\(result.stdout)")
    }
}

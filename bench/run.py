#!/usr/bin/env python3
"""sitewall benchmarks (make bench), release build, whole processes, side by side in one run, for
generated sites of 1,000 to 50,000 hosts (BENCH_SIZES): compile --gateway against libyaml parsing the
same file (the floor) and against Aerleon's aclgen on the same policy (the peer); check and compile
--all per host (linear?) with peak memory, user CPU time and a file-creation floor; apply over
netlink against nft -f; diff live and --running beyond the compile; and the packet path through
the gateway against a minimal stateful ruleset, with a C load generator. Every kernel measurement
runs in network namespaces of its own. Results: a table on stdout, JSON in .build/bench/results.json."""

import json, os, resource, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aerleon as peer  # bench/aerleon.py (it never imports the real package)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build/release/sitewall")
PROFILES = os.path.join(ROOT, "Profiles")
OUT = os.path.join(ROOT, ".build/bench")
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "1000,10000,50000").split(",")]
TOOLS = os.path.join(OUT, "tools")
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def timed(args, repeat=REPEAT):
    """Best wall time of `repeat` runs, and the peak RSS (KiB) of the child processes."""
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        run(args)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def timed_side_by_side(first, second, repeat=2 * REPEAT + 1):
    """Best wall times of two commands run in turn: drift on a shared machine hits both alike."""
    best = [None, None]
    for _ in range(repeat):
        for i, args in enumerate((first, second)):
            start = time.perf_counter()
            run(args)
            elapsed = time.perf_counter() - start
            best[i] = elapsed if best[i] is None else min(best[i], elapsed)
    return best


def netns(script):
    """Runs a bash script in a fresh network namespace; returns its stdout."""
    return run(["unshare", "--net", "bash", "-c", "set -e\n" + script]).stdout


def counts(policy):
    table = policy["table"]
    return (sum(len(c["rules"]) for c in table["chains"]), len(table["sets"]), sum(len(s["elements"]) for s in table["sets"]))


def apply_vs_nft(site, script_path, state):
    """Side by side in one namespace run: sitewall's netlink transaction, then nft -f of the same script."""
    out = netns(f"""
for i in $(seq {REPEAT}); do
  {BIN} apply {site} --gateway gw-1 --force --profiles {PROFILES} --state-directory {state} | sed -n 's/.* in \\([0-9.]*\\) s .*/netlink \\1/p'
  s=$(date +%s%N); nft -f {script_path}; e=$(date +%s%N); echo "nft $(( (e - s) / 1000 ))e-6"
done
""")
    netlink = min(float(l.split()[1]) for l in out.splitlines() if l.startswith("netlink"))
    nft = min(float(l.split()[1]) for l in out.splitlines() if l.startswith("nft"))
    return netlink, nft


def diff_time(site, state):
    out = netns(f"""
{BIN} apply {site} --gateway gw-1 --force --profiles {PROFILES} --state-directory {state} > /dev/null
for i in $(seq {REPEAT}); do
  s=$(date +%s%N); {BIN} diff {site} --gateway gw-1 --profiles {PROFILES} > /dev/null; e=$(date +%s%N); echo "$(( (e - s) / 1000 ))e-6"
done
""")
    return min(float(l) for l in out.split())


def running_diff(site, state, work):
    """diff --running of a saved `nft -j list ruleset` (as an auditor runs it): best time, peak RSS, dump size."""
    dump = os.path.join(work, "running.json")
    with open(dump, "w") as f:
        f.write(netns(f"""
{BIN} apply {site} --gateway gw-1 --force --profiles {PROFILES} --state-directory {state} > /dev/null
nft -j list ruleset
"""))
    args = [BIN, "diff", site, "--gateway", "gw-1", "--profiles", PROFILES, "--running", dump]
    best = None
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, run_peak(args), os.path.getsize(dump)


PACKET_LAB = r"""
set -e
P=swb$$
cleanup() { for n in c g s; do ip netns del $P$n 2>/dev/null || true; done; }
trap cleanup EXIT
for n in c g s; do ip netns add $P$n; ip -n $P$n link set lo up; done
ip -n ${P}g link add eth0 type veth peer name eth0 netns ${P}c
ip -n ${P}g link add eth1 type veth peer name eth0 netns ${P}s
ip -n ${P}c addr add CLIENT/16 dev eth0; ip -n ${P}c link set eth0 up; ip -n ${P}c route add default via 10.100.255.1
ip -n ${P}s addr add SERVER/16 dev eth0; ip -n ${P}s link set eth0 up; ip -n ${P}s route add default via 10.101.255.1
ip -n ${P}g addr add 10.100.255.1/16 dev eth0; ip -n ${P}g addr add 10.101.255.1/16 dev eth1
ip -n ${P}g link set eth0 up; ip -n ${P}g link set eth1 up
ip netns exec ${P}g sysctl -qw net.ipv4.ip_forward=1
ip netns exec ${P}g nft -f RULES
ip netns exec ${P}s TOOLS/tcprr serve SERVER 502 &
sleep 0.5
ip netns exec ${P}c TOOLS/tcprr send SERVER 502 SECONDS 8
kill %1 2>/dev/null || true
"""


# The baseline a gateway runs anyway: stateful, everything allowed. The loaded figure is what
# sitewall's ruleset costs over it, not over no firewall at all.
STATEFUL = """table inet baseline {
    chain forward { type filter hook forward priority 0; policy accept; ct state established,related accept; }
}
"""


def packet_path(rules, seconds=2.0):
    """Request/response transactions per second through the gateway (tcp/502, an allowed flow), eight
    connections from a C generator (bench/tcprr.c) so that Python is not what is measured."""
    script = (PACKET_LAB.replace("CLIENT", "10.100.0.2").replace("SERVER", "10.101.0.2")
              .replace("RULES", rules).replace("TOOLS", TOOLS).replace("SECONDS", str(seconds)))
    out = run(["bash", "-c", script]).stdout
    return float(out.split()[-1])


def build_tools():
    """The C helpers: libyaml's floor and the load generator."""
    os.makedirs(TOOLS, exist_ok=True)
    bench = os.path.join(ROOT, "bench")
    run(["cc", "-O2", "-o", os.path.join(TOOLS, "yamlfloor"), os.path.join(bench, "yamlfloor.c"), "-lyaml"])
    run(["cc", "-O2", "-o", os.path.join(TOOLS, "tcprr"), os.path.join(bench, "tcprr.c")])


def files_floor(sizes, work, repeat=2):
    """The least writing --all's files costs on this file system: the same number of files of the
    same sizes created in a fresh folder (open O_CREAT|O_EXCL, write, close), best of `repeat`. On a
    VM disk file creation alone can cost hundreds of microseconds a file and vary run to run."""
    best = None
    for attempt in range(repeat):
        folder = os.path.join(work, f"floor-{attempt}")
        os.mkdir(folder)
        start = time.perf_counter()
        for i, size in enumerate(sizes):
            fd = os.open(os.path.join(folder, f"h{i}.nft"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.write(fd, b"#" * size)
            os.close(fd)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
        shutil.rmtree(folder)
    return best


def whole_folder(site, work):
    """compile --all: best time, best user CPU time (sitewall's own work, without the kernel's file
    creation), peak RSS, the size of what it wrote, and the file-creation floor measured beside it."""
    out = os.path.join(work, "all")
    args = [BIN, "compile", site, "--all", "--profiles", PROFILES, "--output", out]
    best = user = None
    for _ in range(2):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        start = time.perf_counter()
        run(args)
        elapsed = time.perf_counter() - start
        spent = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before
        best = elapsed if best is None else min(best, elapsed)
        user = spent if user is None else min(user, spent)
    peak = run_peak(args)
    sizes = [os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)]
    shutil.rmtree(out)
    return best, user, peak, sum(sizes), files_floor(sizes, work)


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: swift build -c release")
    os.makedirs(OUT, exist_ok=True)
    build_tools()
    aclgen = peer.ensure_venv(ROOT)
    baseline = os.path.join(OUT, "stateful.nft")
    with open(baseline, "w") as f:
        f.write(STATEFUL)
    results = []
    for n in SIZES:
        work = tempfile.mkdtemp(prefix=f"sitewall-bench-{n}-")
        site = os.path.join(work, "site.yaml")
        with open(site, "w") as f:
            f.write(run([BIN, "generate-site", "--hosts", str(n)]).stdout)
        script = os.path.join(work, "gw-1.nft")
        gateway = [BIN, "compile", site, "--gateway", "gw-1", "--profiles", PROFILES, "--output", script]
        compile_s, floor_s = timed_side_by_side(gateway, [os.path.join(TOOLS, "yamlfloor"), site])
        peak = run_peak(gateway)
        policy_path = os.path.join(work, "policy.json")
        with open(policy_path, "w") as f:
            f.write(run([BIN, "compile", site, "--gateway", "gw-1", "--profiles", PROFILES, "--format", "json"]).stdout)
        rules, sets, elements = counts(json.load(open(policy_path)))
        # The same site narrowed as a real one is (clusters, Modbus peers by area, a read-only plugin):
        # its rules must stay flat in hosts too.
        narrowed = os.path.join(work, "narrowed.yaml")
        with open(narrowed, "w") as f:
            f.write(run([BIN, "generate-site", "--hosts", str(n), "--narrowed"]).stdout)
        narrowed_rules, _, _ = counts(json.loads(run(
            [BIN, "compile", narrowed, "--gateway", "gw-1", "--profiles", PROFILES, "--format", "json"]).stdout))
        peer.write_policy(policy_path, os.path.join(work, "aerleon"))
        aclgen_s = peer.time_aclgen(aclgen, os.path.join(work, "aerleon"), repeat=REPEAT)
        check_s, _ = timed([BIN, "check", site, "--profiles", PROFILES], repeat=2)
        all_s, all_user_s, all_peak, all_bytes, files_s = whole_folder(site, work)
        state = os.path.join(work, "state")
        netlink_s, nft_s = apply_vs_nft(site, script, state)
        diff_s = diff_time(site, state)
        running_s, running_peak, dump_bytes = running_diff(site, state, work)
        # Alternate baseline and loaded runs so that drift on the machine hits both alike; best of each.
        base_tps = loaded_tps = 0.0
        for _ in range(REPEAT):
            base_tps = max(base_tps, packet_path(baseline))
            loaded_tps = max(loaded_tps, packet_path(script))
        row = dict(hosts=n, yaml_mib=round(os.path.getsize(site) / 2**20, 2),
                   floor_s=round(floor_s, 4), compile_s=round(compile_s, 3),
                   floor_ratio=round(compile_s / floor_s, 1), compile_peak_mib=round(peak / 1024, 1),
                   aclgen_s=round(aclgen_s, 3), aclgen_ratio=round(aclgen_s / compile_s, 1),
                   rules=rules, sets=sets, elements=elements, rules_narrowed=narrowed_rules,
                   check_s=round(check_s, 3), check_us_per_host=round(check_s / n * 1e6, 1),
                   all_s=round(all_s, 3), all_us_per_host=round(all_s / n * 1e6, 1),
                   all_user_s=round(all_user_s, 3), files_floor_s=round(files_s, 3),
                   all_peak_mib=round(all_peak / 1024, 1), all_output_mib=round(all_bytes / 2**20, 1),
                   apply_netlink_s=round(netlink_s, 4), apply_nft_s=round(nft_s, 4),
                   apply_ratio=round(netlink_s / nft_s, 3),
                   diff_beyond_s=round(diff_s - compile_s, 3), running_beyond_s=round(running_s - compile_s, 3),
                   running_dump_mib=round(dump_bytes / 2**20, 1),
                   running_peak_ratio=round(running_peak * 1024 / dump_bytes, 1),
                   tps_stateful=round(base_tps), tps_loaded=round(loaded_tps),
                   packet_ratio=round(loaded_tps / base_tps, 3))
        results.append(row)
        shutil.rmtree(work, ignore_errors=True)
        print(f"measured {n} hosts", file=sys.stderr)
    machine = dict(cores=os.cpu_count(), kernel=os.uname().release,
                   cpu=next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"))
    linear = {}
    if len(results) > 1:
        first, last = results[0], results[-1]
        for key in ("check_s", "all_s", "all_user_s", "files_floor_s"):
            linear[key] = dict(hosts=f"{last['hosts']}/{first['hosts']}", ratio=round(last[key] / first[key], 1))
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(dict(machine=machine, results=results, linear=linear), f, indent=2)
    columns = [
        ("hosts", "hosts"), ("yaml_mib", "YAML MiB"), ("floor_s", "libyaml s"), ("compile_s", "gateway s"),
        ("floor_ratio", "x floor"), ("compile_peak_mib", "peak MiB"), ("aclgen_s", "aclgen s"),
        ("aclgen_ratio", "aclgen/sitewall"), ("rules", "rules"), ("rules_narrowed", "rules narrowed"),
        ("elements", "elements"), ("check_s", "check s"),
        ("check_us_per_host", "check us/host"), ("all_s", "--all s"), ("all_us_per_host", "--all us/host"),
        ("all_user_s", "--all user s"), ("files_floor_s", "files floor s"),
        ("all_peak_mib", "--all peak MiB"), ("all_output_mib", "--all MiB out"), ("apply_netlink_s", "netlink s"),
        ("apply_nft_s", "nft -f s"), ("apply_ratio", "ratio"), ("diff_beyond_s", "diff +s"),
        ("running_beyond_s", "--running +s"), ("tps_stateful", "tps stateful"), ("tps_loaded", "tps sitewall"),
        ("packet_ratio", "ratio"),
    ]
    print("| " + " | ".join(h for _, h in columns) + " |")
    print("|" + "---|" * len(columns))
    for row in results:
        print("| " + " | ".join(str(row[k]) for k, _ in columns) + " |")
    for key, value in linear.items():
        print(f"{key}: {value['hosts']} hosts took {value['ratio']}x the time")
    print(f"\nmachine: {machine['cores']} cores, {machine['cpu']}, kernel {machine['kernel']}; "
          f"JSON in {OUT}/results.json")


def run_peak(args):
    """Peak RSS (KiB) of one run, read from /usr/bin/time-free rusage of a forked child."""
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.execv(args[0], args)
    _, _, usage = os.wait4(pid, 0)
    return usage.ru_maxrss


if __name__ == "__main__":
    main()

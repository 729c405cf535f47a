#!/usr/bin/env python3
"""sitewall benchmarks (make bench): compile, apply (netlink vs nft -f), readback+diff and the
packet path, for generated sites of 100 to 50,000 hosts. Every kernel measurement runs in a
network namespace of its own. Results: a table on stdout, JSON in .build/bench/results.json."""

import json, os, resource, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build/release/sitewall")
PROFILES = os.path.join(ROOT, "Profiles")
OUT = os.path.join(ROOT, ".build/bench")
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "100,1000,10000,50000").split(",")]
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
[ -n "RULES" ] && ip netns exec ${P}g nft -f RULES
ip netns exec ${P}s python3 BENCHDIR/pingpong.py serve SERVER 502 &
sleep 0.5
ip netns exec ${P}c python3 BENCHDIR/pingpong.py send SERVER 502 SECONDS
kill %1 2>/dev/null || true
"""


def packet_path(rules, seconds=2.0):
    """Request/response transactions per second through the gateway (tcp/502, an allowed flow)."""
    script = (PACKET_LAB.replace("CLIENT", "10.100.0.2").replace("SERVER", "10.101.0.2")
              .replace("RULES", rules).replace("BENCHDIR", os.path.join(ROOT, "bench")).replace("SECONDS", str(seconds)))
    out = run(["bash", "-c", script]).stdout
    return float(out.split()[-1])


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: swift build -c release")
    os.makedirs(OUT, exist_ok=True)
    results = []
    for n in SIZES:
        work = tempfile.mkdtemp(prefix=f"sitewall-bench-{n}-")
        site = os.path.join(work, "site.yaml")
        with open(site, "w") as f:
            f.write(run([BIN, "generate-site", "--hosts", str(n)]).stdout)
        script = os.path.join(work, "gw-1.nft")
        compile_s, _ = timed([BIN, "compile", site, "--gateway", "gw-1", "--profiles", PROFILES, "--output", script])
        peak = run_peak([BIN, "compile", site, "--gateway", "gw-1", "--profiles", PROFILES, "--output", script])
        policy = json.loads(run([BIN, "compile", site, "--gateway", "gw-1", "--profiles", PROFILES, "--format", "json"]).stdout)
        rules, sets, elements = counts(policy)
        state = os.path.join(work, "state")
        netlink_s, nft_s = apply_vs_nft(site, script, state)
        diff_s = diff_time(site, state)
        running_s, running_peak, dump_bytes = running_diff(site, state, work)
        # Alternate empty and loaded runs so that drift on the machine hits both alike; best of each.
        empty_tps = loaded_tps = 0.0
        for _ in range(REPEAT):
            empty_tps = max(empty_tps, packet_path(""))
            loaded_tps = max(loaded_tps, packet_path(script))
        row = dict(hosts=n, compile_s=round(compile_s, 3), compile_peak_mib=round(peak / 1024, 1), rules=rules, sets=sets,
                   elements=elements, apply_netlink_s=round(netlink_s, 4), apply_nft_s=round(nft_s, 4),
                   apply_ratio=round(netlink_s / nft_s, 3), diff_s=round(diff_s, 3),
                   running_diff_s=round(running_s, 3), running_dump_mib=round(dump_bytes / 2**20, 1),
                   running_peak_ratio=round(running_peak * 1024 / dump_bytes, 1),
                   packet_tps_empty=round(empty_tps), packet_tps_loaded=round(loaded_tps),
                   packet_ratio=round(loaded_tps / empty_tps, 3))
        results.append(row)
        print(f"measured {n} hosts", file=sys.stderr)
    machine = dict(cores=os.cpu_count(), kernel=os.uname().release,
                   cpu=next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"))
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(dict(machine=machine, results=results), f, indent=2)
    header = ["hosts", "compile s", "peak MiB", "rules", "sets", "elements", "apply netlink s", "nft -f s", "ratio",
              "diff s", "diff --running s", "dump MiB", "peak/dump", "tps empty", "tps loaded", "ratio"]
    keys = ["hosts", "compile_s", "compile_peak_mib", "rules", "sets", "elements", "apply_netlink_s", "apply_nft_s",
            "apply_ratio", "diff_s", "running_diff_s", "running_dump_mib", "running_peak_ratio", "packet_tps_empty",
            "packet_tps_loaded", "packet_ratio"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in results:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    print(f"\nmachine: {machine['cores']} cores, {machine['cpu']}, kernel {machine['kernel']}; JSON in {OUT}/results.json")


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

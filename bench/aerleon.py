#!/usr/bin/env python3
"""Aerleon as a peer in the benchmark: the same gateway policy, compiled by Aerleon's nftables generator.

From sitewall's compiled gateway policy (`compile --gateway gw-1 --format json`) this writes an Aerleon
policy with the same hosts and the same forward-chain flows, then times `aclgen` on it, whole process,
beside `sitewall compile --gateway`.

    python3 bench/aerleon.py SITEWALL PROFILES 1000 10000

Aerleon runs from its own venv (<repo>/.venv-bench, pinned by bench/requirements.txt), as a subprocess:
this file is named aerleon.py and never imports the aerleon package (nor could it, from bench/).
"""

import argparse, json, os, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICY_NAME = "gw-1"  # policies/pol/gw-1.yaml renders to out/gw-1.nft


def ensure_venv(root=ROOT):
    """Creates <root>/.venv-bench with bench/requirements.txt installed, unless a copy of the same
    requirements is already there; returns the path of its aclgen."""
    venv = os.path.join(root, ".venv-bench")
    wanted = open(os.path.join(root, "bench", "requirements.txt")).read()
    installed = os.path.join(venv, "requirements.txt")  # what the last successful install was of
    if not (os.path.exists(installed) and open(installed).read() == wanted):
        # --clear: exactly the pinned packages, nothing left over from an older requirements.txt
        subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check",
                        "-r", os.path.join(root, "bench", "requirements.txt")], check=True)
        with open(installed, "w") as f:  # written last: an interrupted install is redone next time
            f.write(wanted)
    return os.path.join(venv, "bin", "aclgen")


def _network(elements):
    """Aerleon network values: each address as a host prefix (/32 or /128); CIDRs as they are."""
    return {"values": [{"address": e if "/" in e else e + ("/128" if ":" in e else "/32")} for e in elements]}


def _scalar(value):
    # Plain where YAML reads it back as the same string (or the port number), quoted (JSON is YAML) otherwise.
    text = str(value)
    plain = re.fullmatch(r"[\w./:-]+", text) and text.lower() not in ("yes", "no", "on", "off", "true", "false",
                                                                      "null", "y", "n")
    return text if plain else json.dumps(text)


def _yaml(obj, indent=0):
    """Block YAML of nested dicts, lists and strings, as people write Aerleon files. Not json.dump, though JSON
    is YAML: aclgen's PyYAML reads that flow style about a third slower, which would tax Aerleon's timing.
    (Nor PyYAML here: bench/ runs on the system python3.)"""
    pad, lines = "  " * indent, []
    for key, value in obj.items() if isinstance(obj, dict) else enumerate(obj):
        lead = f"{pad}{key}:" if isinstance(obj, dict) else f"{pad}-"
        if not value or not isinstance(value, (dict, list)):
            lines.append(f"{lead} {_scalar(value) if isinstance(value, (str, int)) else json.dumps(value)}")
        elif isinstance(obj, list) and isinstance(value, dict):  # "- key: value" with the rest of the keys below
            lines.append(f"{pad}- " + _yaml(value, indent + 1).lstrip())
        else:
            lines += [lead, _yaml(value, indent + 1)]
    return "\n".join(lines)


def write_policy(policy_json_path, outdir):
    """Writes an Aerleon policy equivalent to the gateway's forward chain into outdir:
    def/definitions.yaml (networks, services) and policies/pol/gw-1.yaml (nftables filters).

    Mapping of sitewall's forward chain:
    - `ct state invalid drop` and `ct state established,related accept` (baseline): no term. Aerleon's
      nftables generator is stateful by itself: its base chain starts with `ct state established,related
      accept`, and every accept term matches `ct state new` only, so invalid packets fall to the drop policy.
    - loopback (baseline, input/output only): no term; input and output chains are not part of the filter.
    - each flow rule: one term; saddr/daddr -> source/destination-address (the set's network, or a network
      of the rule's literal addresses), transport -> protocol, dport/sport -> destination/source-port (a
      service per port set and protocol), iifname/oifname -> source/destination-interface, accept.
    - sitewall's one inet chain -> one filter per family (Aerleon's `inet` is IPv4, rendered as an nftables
      `ip` table; `inet6` an `ip6` table), each hooked on forward, policy drop. Aerleon's own dual-stack
      family (`mixed`, an nftables `inet` table) renders every term with ports twice (aerleon PR #478),
      which would time Aerleon on twice the rules. A family with no flow gets a deny-all term, so that it
      is dropped as in sitewall's chain rather than left without a table (and unfiltered).
    Anything else (ICMP, IGMP, rate limits, conntrack helpers, drop verdicts) has no mapping here: it
    raises, rather than benchmark a policy smaller than sitewall's. Returns the terms, by family.
    """
    table = json.load(open(policy_json_path))["table"]
    networks = {s["name"]: _network(s["elements"]) for s in table["sets"]}
    services, terms = {}, {"ipv4": [], "ipv6": []}

    def address(match, name):
        if "set" in match:
            return match["set"]
        networks[name] = _network(match.get("addresses") or [match["network"]])
        return name

    def service(ports, proto):
        name = f"{proto}_{ports.replace(',', '_')}"  # "2080-2088,2073" -> tcp_2080-2088_2073
        services[name] = [{"port": p, "protocol": proto} for p in ports.split(",")]
        return name

    forward = next(c for c in table["chains"] if c["name"] == "forward")
    for i, rule in enumerate(forward["rules"]):
        kind = rule.get("origin", {}).get("kind")
        if kind == "baseline":
            continue
        extra = set(rule) - {"saddr", "daddr", "transport", "sport", "dport", "iifname", "oifname", "family",
                             "verdict", "comment", "origin"}
        if extra or rule["verdict"] != "accept" or rule.get("transport") not in ("tcp", "udp"):
            raise ValueError(f"forward rule {i} has no Aerleon mapping here: {json.dumps(rule)[:200]}")
        # Term names become nftables chain names: the rule's index keeps them unique.
        name = f"r{i:03d}-" + rule.get("origin", {}).get("service", kind or "rule").replace("/", "-")
        term = {"name": name, "protocol": rule["transport"], "action": "accept"}
        if rule.get("comment"):  # rendered as an nft comment, a double-quoted string: sitewall's quote with '
            term["comment"] = rule["comment"].replace('"', "'")
        if "saddr" in rule:
            term["source-address"] = address(rule["saddr"], f"{name}-saddr")
        if "daddr" in rule:
            term["destination-address"] = address(rule["daddr"], f"{name}-daddr")
        if "sport" in rule:
            term["source-port"] = service(rule["sport"], rule["transport"])
        if "dport" in rule:
            term["destination-port"] = service(rule["dport"], rule["transport"])
        if "iifname" in rule:
            term["source-interface"] = rule["iifname"]
        if "oifname" in rule:
            term["destination-interface"] = rule["oifname"]
        for family in [rule["family"]] if "family" in rule else terms:  # no addresses: both families
            terms[family].append(term)

    filters = []
    for family, header in (("ipv4", "inet forward"), ("ipv6", "inet6 forward")):
        # No ACCEPT keyword: policy drop; no number: priority 0, as sitewall's chains.
        filters.append({"header": {"targets": {"nftables": header}, "comment": f"sitewall gw-1 forward, {family}"},
                        "terms": terms[family] or [{"name": "deny-all", "action": "deny"}]})
    for sub in ("def", "policies/pol"):
        os.makedirs(os.path.join(outdir, sub), exist_ok=True)
    with open(os.path.join(outdir, "def", "definitions.yaml"), "w") as f:
        f.write(_yaml({"networks": networks, "services": services}) + "\n")
    with open(os.path.join(outdir, "policies", "pol", POLICY_NAME + ".yaml"), "w") as f:
        f.write(_yaml({"filters": filters}) + "\n")
    return terms


def aclgen_args(aclgen, policy_dir):
    # --max_renderers 1: for one policy file, the default pool of 10 worker processes (and a manager
    # process) is only start-up cost. --nooptimize says Aerleon's default out loud: optimizing would merge
    # the hosts into CIDR blocks, a smaller policy than sitewall's sets. aclgen ignores false flags in
    # favour of ./aerleon.yml, so time_aclgen runs it in policy_dir, where there is none.
    return [aclgen, "--base_directory", os.path.join(policy_dir, "policies"),
            "--definitions_directory", os.path.join(policy_dir, "def"),
            "--output_directory", os.path.join(policy_dir, "out"), "--nooptimize", "--max_renderers", "1"]


def time_aclgen(aclgen, policy_dir, repeat=3):
    """Best wall-clock seconds of `repeat` whole aclgen runs on policy_dir (as written by write_policy)."""
    policy_dir = os.path.abspath(policy_dir)  # aclgen runs in it (see aclgen_args)
    output = os.path.join(policy_dir, "out", POLICY_NAME + ".nft")
    best = None
    for _ in range(repeat):
        # aclgen skips writing an unchanged file: remove it so that every run renders and writes.
        if os.path.exists(output):
            os.remove(output)
        start = time.perf_counter()
        done = subprocess.run(aclgen_args(aclgen, policy_dir), cwd=policy_dir, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        # aclgen exits 0 on some failures (a shading error only warns): the output file is the real test.
        if done.returncode != 0 or not os.path.exists(output) or os.path.getsize(output) == 0:
            raise RuntimeError(f"aclgen failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        best = elapsed if best is None else min(best, elapsed)
    return best


def _best(args, repeat=3):
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sitewall")
    parser.add_argument("profiles")
    parser.add_argument("hosts", type=int, nargs="+")
    args = parser.parse_args()
    aclgen = ensure_venv()
    print("| hosts | terms | aclgen s | sitewall compile s | aclgen/sitewall |\n|---|---|---|---|---|")
    for n in args.hosts:
        work = tempfile.mkdtemp(prefix=f"sitewall-aerleon-{n}-")
        try:
            site, policy = os.path.join(work, "site.yaml"), os.path.join(work, "policy.json")
            with open(site, "w") as f:
                subprocess.run([args.sitewall, "generate-site", "--hosts", str(n)], check=True, stdout=f)
            compile_args = [args.sitewall, "compile", site, "--gateway", "gw-1", "--profiles", args.profiles]
            with open(policy, "w") as f:
                subprocess.run(compile_args + ["--format", "json"], check=True, stdout=f)
            terms = write_policy(policy, os.path.join(work, "aerleon"))
            aclgen_s = time_aclgen(aclgen, os.path.join(work, "aerleon"))
            # As bench/run.py times it: the nft script written to a file.
            sitewall_s = _best(compile_args + ["--output", os.path.join(work, "gw-1.nft")])
            flows = sum(map(len, terms.values()))
            print(f"| {n} | {flows} | {aclgen_s:.3f} | {sitewall_s:.3f} | {aclgen_s / sitewall_s:.1f} |", flush=True)
        finally:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()

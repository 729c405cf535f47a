import Foundation
import SitewallCore
import SitewallTestSupport
import Testing

/// Rounds of apply, apply --confirm (confirmed and not), and kill -9 at random points (of apply
/// or of its watchdog) against a 10,000-host gateway, while another program edits a table of its
/// own. After every round sitewall's table is the old or the new one byte for byte, and the other
/// table is exactly as its editor left it. SITEWALL_SOAK_ROUNDS sets the count (default 100).
@Suite(.serialized, .kernel) struct ApplySoakTests {
    static var rounds: Int { Int(ProcessInfo.processInfo.environment["SITEWALL_SOAK_ROUNDS"] ?? "") ?? 100 }

    @Test func applyConfirmRollbackAndKillsSoak() throws {
        guard NftLoadTests.requireLab() else { return }
        let lab = try ApplyLab()
        for (name, hosts) in [("a", 10_000), ("b", 9_990)] {
            try Run.program(Repository.executable, ["generate-site", "--hosts", "\(hosts)"]).stdout
                .write(toFile: lab.scratch.file("\(name).yaml"), atomically: true, encoding: .utf8)
        }
        let seed = UInt16.random(in: 1...30000)
        let result = try lab.run(
            """
            set +e  # every step is checked below; the editor must be stopped whatever happens
            trap 'touch $T/stop; kill $(jobs -p) 2>/dev/null; wait' EXIT
            RANDOM=\(seed); echo "seed \(seed)"
            cat > $T/foreign.base <<'NFT'
            table inet foreign {
              set s { type ipv4_addr; }
              chain in { type filter hook input priority 5; policy accept; }
            }
            NFT
            nft -f $T/foreign.base
            nft -s list table inet foreign > $T/foreign.expected
            editor() {
              local i=0
              while [ ! -e $T/stop ]; do
                if [ -e $T/pause ]; then touch $T/paused; sleep 0.01; continue; fi
                i=$((i + 1))
                case $((i % 5)) in
                  0) nft add rule inet foreign in tcp dport $((1000 + i % 500)) accept ;;
                  1) if [ $((i % 10)) -lt 5 ]; then p=drop; else p=accept; fi; \
            nft add chain inet foreign in "{ policy $p; }" ;;
                  2) nft add element inet foreign s "{ 10.$((i % 250)).0.1 }" ;;
                  3) nft flush chain inet foreign in ;;
                  4) nft delete table inet foreign; nft -f $T/foreign.base ;;
                esac
                nft -s list table inet foreign > $T/foreign.tmp && mv $T/foreign.tmp $T/foreign.expected
                sleep 0.0$((RANDOM % 3))  # a busy gateway: tens of commits a second
              done
            }
            editor &
            apply() { "$B" apply $T/$1.yaml --gateway gw-1 --force --profiles "$P" --state-directory "$S" "${@:2}"; }
            settle() {  # until no apply, watchdog or pending state is left
              for _ in $(seq 1 300); do
                if ! pgrep -f "(apply|watchdog) .*--state-directory $S" > /dev/null && [ ! -e "$(stateDir)/pending" ]; \
            then return 0; fi
                sleep 0.05
              done
              echo "did not settle"; return 1
            }
            apply a > /dev/null; nft -s list table inet sitewall > $T/a.rules
            apply b > /dev/null; nft -s list table inet sitewall > $T/b.rules
            cur=b; declare -A count; bad=0
            for round in $(seq 1 \(Self.rounds)); do
              if [ $cur = a ]; then next=b; else next=a; fi
              mode=$(( RANDOM % 6 ))
              case $mode in
                0) kind=plain; apply $next > /dev/null; want=$next ;;
                1) kind=unconfirmed; apply $next --confirm 2 > /dev/null; settle; want=$cur ;;
                2) kind=confirmed; apply $next --confirm 2 > /dev/null; swc confirm > /dev/null; want=$next ;;
                3) kind=killed-apply; "$B" apply $T/$next.yaml --gateway gw-1 --force --profiles "$P" \
            --state-directory "$S" > /dev/null 2>&1 &
                   sleep 0.$(printf '%03d' $((RANDOM % 1000))); kill -9 $! 2>/dev/null || true; \
            wait $! 2>/dev/null || true; want=either ;;
                4) kind=killed-confirm; "$B" apply $T/$next.yaml --gateway gw-1 --force --confirm 2 --profiles "$P" \
            --state-directory "$S" > /dev/null 2>&1 &
                   sleep 0.$(printf '%03d' $((RANDOM % 1000))); kill -9 $! 2>/dev/null || true; \
            wait $! 2>/dev/null || true; settle; want=$cur ;;
                5) kind=killed-watchdog; apply $next --confirm 30 > /dev/null
                   sleep 0.$(printf '%03d' $((RANDOM % 500))); pkill -KILL -f "watchdog --state-directory $S" || true
                   sleep 0.1; swc rollback > /dev/null; want=$cur ;;
              esac
              settle || bad=$((bad + 1))
              rm -f $T/paused; touch $T/pause
              for _ in $(seq 1 500); do [ -e $T/paused ] && break; sleep 0.01; done
              nft -s list table inet sitewall > $T/now.rules 2>/dev/null || echo "no table" > $T/now.rules
              if cmp -s $T/now.rules $T/a.rules; then got=a; elif cmp -s $T/now.rules $T/b.rules; then got=b; \
            else got=neither; fi
              if [ "$want" = either ]; then [ $got = neither ] && \
            { echo "round $round ($kind): neither old nor new"; bad=$((bad + 1)); }
              elif [ $got != "$want" ]; then echo "round $round ($kind): got $got, want $want"; bad=$((bad + 1)); fi
              if ! cmp -s $T/foreign.expected <(nft -s list table inet foreign); then
                echo "round $round ($kind): the foreign table differs from what its editor left"; bad=$((bad + 1))
              fi
              rm -f $T/pause
              [ $got != neither ] && cur=$got
              count[$kind]=$(( ${count[$kind]:-0} + 1 ))
            done
            touch $T/stop; wait
            trap - EXIT
            for k in "${!count[@]}"; do echo "$k: ${count[$k]}"; done | sort
            echo "soak: \(Self.rounds) rounds, $bad bad"
            """)
        print(result.stdout + result.stderr)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("soak: \(Self.rounds) rounds, 0 bad"), "\(result.stdout)")
    }
}

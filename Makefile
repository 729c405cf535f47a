# sitewall: build, examples and tests. Run as root on Debian 12 (apt and network namespaces need it).
SWIFT ?= swift
BIN := .build/debug/sitewall
OUT ?= out
APT_PACKAGES := libnftnl-dev libmnl-dev libnftables-dev nftables iptables iproute2 util-linux tftp-hpa tftpd-hpa python3 procps
# The real protocol software of the interop suite (tests only); its PyPI part is pinned in interop/requirements.txt.
TEST_APT_PACKAGES := dnsmasq udhcpc chrony swaks snmpd snmp snmptrapd mosquitto mosquitto-clients openssl curl \
	postgresql python3-venv conntrack ethtool

.PHONY: all deps test-deps build example examples test interop lint check clean bench

all: build

# System packages sitewall and its tests use; skipped when they are all present already. A
# policy-rc.d keeps daemons the tests install (tftpd-hpa) from starting in the machine's namespace.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		guard=""; if [ ! -e /usr/sbin/policy-rc.d ]; then guard=1; printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; status=$$?; \
		[ -z "$$guard" ] || rm -f /usr/sbin/policy-rc.d; [ $$status = 0 ] || exit $$status; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "sitewall needs a Swift 6 toolchain on PATH (swift.org/install)"; exit 1; }

# What the interop suite runs: Debian daemons and clients (kept from starting in the machine's
# namespace, like tftpd-hpa above) and the pinned PyPI packages in .venv-interop.
test-deps:
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(TEST_APT_PACKAGES)"
	@cmp -s interop/requirements.txt .venv-interop/requirements.txt 2>/dev/null || { rm -rf .venv-interop && \
		python3 -m venv .venv-interop && .venv-interop/bin/pip install -q -r interop/requirements.txt && \
		cp interop/requirements.txt .venv-interop/requirements.txt; }

build:
	$(SWIFT) build

# The main job on a shipped example: check the campus site, compile its gateway, and prove the
# script loads (in a throw-away network namespace when we may create one).
example: deps build
	$(BIN) check Examples/campus.yaml
	$(BIN) compile Examples/campus.yaml --gateway gw-1 --output $(OUT)/gw-1.nft
	$(BIN) compile Examples/campus.yaml --all --output $(OUT)/campus
	@if unshare --net true 2>/dev/null; then \
		unshare --net nft -c -f $(OUT)/gw-1.nft && echo "$(OUT)/gw-1.nft loads cleanly (checked in a private network namespace)"; \
	else echo "not root: skipped the nft load check"; fi
	@echo "wrote $(OUT)/gw-1.nft and one file per host in $(OUT)/campus/"

examples: build
	@for f in Examples/*.yaml; do $(BIN) check $$f || exit 1; done

# Tests run one at a time: the kernel tests build labs of many namespaces, and two at once on a
# 2-core machine only make probe timeouts likelier.
test: deps test-deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --no-parallel

# The interop suite alone: real protocol software through every example's rules (about 6 minutes).
# Each site's lines appear as it finishes; SITES=a,b and MODES=nft,... narrow a run.
interop: deps test-deps
	$(SWIFT) build --product sitewall-interop
	.build/debug/sitewall-interop $(if $(SITES),--site $(SITES)) $(if $(MODES),--mode $(MODES))

# Formatting and lint rules (.swift-format: 120 columns) with the toolchain's swift-format.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

clean:
	rm -rf .build $(OUT)

# Benchmarks: generated sites of 100 to 50,000 hosts; compile, apply (netlink vs nft -f),
# readback+diff and the packet path, in network namespaces. Table on stdout, JSON in .build/bench/.
bench: deps
	$(SWIFT) build -c release
	python3 bench/run.py

# sitewall: build, examples and tests. Run as root on Debian 12 (apt and network namespaces need it).
SWIFT ?= swift
BIN := .build/debug/sitewall
OUT ?= out
APT_PACKAGES := libnftnl-dev libmnl-dev libnftables-dev libyaml-dev nftables iptables iproute2 util-linux tftp-hpa tftpd-hpa python3 procps binutils
# The real protocol software of the interop suite (tests only); its PyPI part is pinned in interop/requirements.txt.
TEST_APT_PACKAGES := dnsmasq udhcpc chrony swaks snmpd snmp snmptrapd mosquitto mosquitto-clients openssl curl \
	postgresql python3-venv conntrack ethtool chromium tcpdump ansible-core ansible-lint openssh-server

.PHONY: all deps test-deps build example examples test interop lint check clean bench release install deb

# make install: PREFIX and DESTDIR as usual; CONFIG=debug installs the debug build (for tests).
PREFIX ?= /usr/local
DESTDIR ?=
CONFIG ?= release
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
SHARE := $(DESTDIR)$(PREFIX)/share

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
	$(BIN) report Examples/campus.yaml --output $(OUT)/campus-report.html
	@if unshare --net true 2>/dev/null; then \
		unshare --net nft -c -f $(OUT)/gw-1.nft && echo "$(OUT)/gw-1.nft loads cleanly (checked in a private network namespace)"; \
	else echo "not root: skipped the nft load check"; fi
	@echo "wrote $(OUT)/gw-1.nft, one file per host in $(OUT)/campus/ and the audit report $(OUT)/campus-report.html"

# The release binary, with the Swift runtime linked in (it runs where no toolchain is installed).
release: deps
	$(SWIFT) build -c release --static-swift-stdlib --product sitewall

# The binary, the profiles (the binary finds them in ../share/sitewall/profiles), the examples,
# man pages, shell completions, the boot unit and the documentation.
install: $(if $(filter release,$(CONFIG)),release,build)
	install -D -m 755 .build/$(CONFIG)/sitewall $(DESTDIR)$(PREFIX)/bin/sitewall
	cd Profiles && find . -type f -name '*.yaml' | while read -r f; do \
		install -D -m 644 "$$f" "$(SHARE)/sitewall/profiles/$$f" || exit 1; done
	install -d $(SHARE)/sitewall/examples $(SHARE)/doc/sitewall $(SHARE)/man/man1
	install -m 644 Examples/*.yaml $(SHARE)/sitewall/examples/
	install -m 644 README.md LICENSE docs/*.md dist/target.example $(SHARE)/doc/sitewall/
	rm -rf .build/man && mkdir -p .build/man
	$(SWIFT) build --product generate-manual > /dev/null
	.build/debug/generate-manual .build/$(CONFIG)/sitewall --multi-page \
		--date $$(git log -1 --format=%cs 2>/dev/null || date +%F) --output-directory .build/man
	install -m 644 .build/man/*.1 $(SHARE)/man/man1/
	install -d $(SHARE)/bash-completion/completions $(SHARE)/zsh/site-functions $(SHARE)/fish/vendor_completions.d
	.build/$(CONFIG)/sitewall --generate-completion-script bash > $(SHARE)/bash-completion/completions/sitewall
	.build/$(CONFIG)/sitewall --generate-completion-script zsh > $(SHARE)/zsh/site-functions/_sitewall
	.build/$(CONFIG)/sitewall --generate-completion-script fish > $(SHARE)/fish/vendor_completions.d/sitewall.fish
	install -d $(DESTDIR)$(SYSTEMDDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' dist/sitewall.service > $(DESTDIR)$(SYSTEMDDIR)/sitewall.service
	@echo "installed under $(DESTDIR)$(PREFIX); put the site in /etc/sitewall/site.yaml, this machine's name in" \
		"/etc/sitewall/target (see $(PREFIX)/share/doc/sitewall/target.example), then systemctl enable sitewall"

# A Debian package of `make install` (PREFIX=/usr) in .build/sitewall_VERSION_ARCH.deb.
VERSION := $(shell sed -n 's/^let sitewallVersion = "\([0-9.]*\)"/\1/p' Sources/sitewall/Sitewall.swift)
DEB := .build/sitewall_$(VERSION)_$(shell dpkg --print-architecture).deb
deb: release
	rm -rf .build/deb && $(MAKE) --no-print-directory install PREFIX=/usr DESTDIR=$(CURDIR)/.build/deb \
		SYSTEMDDIR=/lib/systemd/system > /dev/null
	strip .build/deb/usr/bin/sitewall
	mkdir -p .build/deb/DEBIAN
	sed -e 's/@VERSION@/$(VERSION)/' -e "s/@ARCH@/$$(dpkg --print-architecture)/" \
		-e "s/@SIZE@/$$(du -sk .build/deb | cut -f1)/" dist/control.in > .build/deb/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build .build/deb $(DEB)
	@echo "built $(DEB)"

examples: build
	@for f in Examples/*.yaml; do $(BIN) check $$f || exit 1; done

# Tests run one at a time: the kernel tests build labs of many namespaces, and two at once on a
# 2-core machine only make probe timeouts likelier.
# InstallTests installs the Debian package into a copy-on-write root without the toolchain or the
# checkout, and runs the files `make install` put in .build/deb with the checkout hidden.
test: deps test-deps lint
	$(SWIFT) build --build-tests
	$(MAKE) --no-print-directory deb
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

# Benchmarks (bench/run.py says what): generated sites of 1,000 to 50,000 hosts, side by side with
# libyaml's floor and Aerleon (pinned in bench/requirements.txt, its own venv). JSON in .build/bench/.
# It measures the binary users install: `make release`, with the Swift runtime linked in.
bench: release
	@$(MAKE) --no-print-directory deps APT_PACKAGES="python3-venv gcc"
	python3 bench/run.py

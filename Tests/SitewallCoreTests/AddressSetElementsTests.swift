import CNftnl
import SitewallTestSupport
import Testing

@testable import SitewallCore

/// Named sets hold runs of consecutive addresses as ranges (issue 14): the spellings nft and the
/// kernel get, and reading them back into the same addresses.
@Suite struct AddressSetElementsTests {
    static func addresses(_ texts: [String]) -> [IPAddress] { texts.compactMap(IPAddress.init).sorted() }

    static let mixed = addresses([
        "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.9", "10.0.0.12", "10.0.0.13", "10.0.0.14",
        "10.0.0.15", "255.255.255.255",
    ])

    @Test func runsAreWrittenAsNftListsThem() {
        #expect(
            AddressSetElements.nft(Self.mixed) == ["10.0.0.2-10.0.0.5", "10.0.0.9", "10.0.0.12/30", "255.255.255.255"])
        let v6 = Self.addresses(["2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::8"])
        #expect(AddressSetElements.nft(v6) == ["2001:db8::1-2001:db8::3", "2001:db8::8"])
    }

    @Test func theKernelGetsStartsAndEndsAndNoEndAtTheTop() {
        let end = NFT_SET_ELEM_INTERVAL_END.rawValue
        let elements = AddressSetElements.netlink(Self.mixed).map { ($0.key, $0.flags) }
        let expected: [([UInt8], UInt32)] = [
            ([10, 0, 0, 2], 0), ([10, 0, 0, 6], end), ([10, 0, 0, 9], 0), ([10, 0, 0, 10], end),
            ([10, 0, 0, 12], 0), ([10, 0, 0, 16], end), ([255, 255, 255, 255], 0),
        ]
        #expect(elements.map(\.0) == expected.map(\.0) && elements.map(\.1) == expected.map(\.1))
    }

    @Test func whatTheKernelHoldsReadsBackAsTheSameAddresses() throws {
        let end = NFT_SET_ELEM_INTERVAL_END.rawValue
        // As the kernel lists them: reversed, with nft's leading 0.0.0.0 end.
        var dumped = AddressSetElements.netlink(Self.mixed).map { ($0.key, $0.flags) }.reversed() as [([UInt8], UInt32)]
        dumped.append(([0, 0, 0, 0], end))
        #expect(AddressSetElements.fromKernel(dumped, family: .ipv4) == Self.mixed)
        // Anything but an interval end is not sitewall's.
        #expect(AddressSetElements.fromKernel([([10, 0, 0, 1], 4)], family: .ipv4) == nil)
        // A range wider than any site: not read (and so reported, never a silent match).
        #expect(AddressSetElements.fromKernel([([0, 0, 0, 0], 0), ([128, 0, 0, 0], end)], family: .ipv4) == nil)
    }

    @Test func nftJSONElementsReadBack() throws {
        let raw: [Any] = [
            ["range": ["10.0.0.2", "10.0.0.5"]], "10.0.0.9", ["prefix": ["addr": "10.0.0.12", "len": 30]],
            "255.255.255.255",
        ]
        #expect(AddressSetElements.fromJSON(raw, family: .ipv4) == Self.mixed)
        #expect(AddressSetElements.fromJSON([["elem": ["val": "10.0.0.1", "timeout": 10]]], family: .ipv4) == nil)
        #expect(AddressSetElements.fromJSON(["2001:db8::1"], family: .ipv4) == nil)
    }

    /// Hosts numbered in blocks: a host's file stays the same size however many peers it has.
    @Test func aHostsRulesetDoesNotGrowWithItsPeers() throws {
        func largest(_ hosts: Int) throws -> Int {
            let workspace = try SiteFixture.workspace(SiteGenerator.yaml(hosts: hosts), file: "generated.yaml")
            // Every role mix, the gateway included: 200 targets spread over the site.
            let targets = workspace.compiler.targets
            return stride(from: 0, to: targets.count, by: targets.count / 200)
                .map { NftBackend.render(workspace.policy(for: targets[$0])).count }.max() ?? 0
        }
        let small = try largest(1000)
        let large = try largest(10_000)
        #expect(large < small * 2, "largest host file: \(small) bytes at 1,000 hosts, \(large) at 10,000")
    }
}

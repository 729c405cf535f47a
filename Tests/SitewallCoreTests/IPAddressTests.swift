import Testing

@testable import SitewallCore

/// Address text as sites write it: what is an address and what is not.
@Suite struct IPAddressTests {
    @Test(arguments: [
        ("10.0.0.1", "10.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
        ("2001:db8::1", "2001:db8::1"), ("::ffff:10.0.0.1", "::ffff:10.0.0.1"), ("::", "::"),
    ])
    func addressesParse(_ text: String, _ printed: String) throws {
        #expect(try #require(IPAddress(text)).description == printed)
    }

    @Test(arguments: [
        "", "10.0.0", "10.0.0.1.2", "10.0.0.256", "10.0.01.1", "010.0.0.1", "10..0.1", ".10.0.0.1", "10.0.0.1.",
        "10.0.0.-1", "10.0.0.1 ", "1e1.0.0.1", "１0.0.0.1", "10.0.0.1/24", "2001:db8::g", "host-1",
    ])
    func notAddresses(_ text: String) {
        #expect(IPAddress(text) == nil)
    }
}

import CNftnl

/// A named address set's elements in every spelling sitewall writes and reads. The policy holds
/// addresses; nft and the kernel hold each run of consecutive addresses as one range of an interval
/// set, so that 3,000 clients numbered in 12 blocks are 12 elements, not 3,000 (a site's per-host
/// files stay small however many peers a host has). Reading back expands the ranges again, so that
/// diff compares addresses with addresses; a range wider than any set sitewall writes is not read.
enum AddressSetElements {
    /// A run of consecutive addresses, first and last included.
    struct Run: Equatable {
        var first: IPAddress
        var last: IPAddress
    }

    /// The set flag sitewall's named sets carry (nft: `flags interval`).
    static let kernelFlags = NFT_SET_INTERVAL.rawValue
    static let nftFlags = ["interval"]
    /// The most addresses one read-back set may expand to: more is no set of sitewall's.
    static let expansionLimit = 1 << 22

    /// The element user data nft gives a range open to the end of the address space: one TLV,
    /// NFTNL_UDATA_SET_ELEM_FLAGS = NFTNL_SET_ELEM_F_INTERVAL_OPEN (a host-order u32), which `nft list`
    /// reads. sitewall writes it alike and reads it as part of the element, not as foreign data.
    static let intervalOpenMark: [UInt8] =
        [UInt8(NFTNL_UDATA_SET_ELEM_FLAGS.rawValue), 4]
        + withUnsafeBytes(of: UInt32(NFTNL_SET_ELEM_F_INTERVAL_OPEN.rawValue)) { Array($0) }

    /// Maximal runs of sorted, distinct addresses.
    static func runs(_ addresses: [IPAddress]) -> [Run] {
        var result: [Run] = []
        for address in addresses {
            if let last = result.last?.last, last.family == address.family, last.value != .max,
                address.value == last.value + 1
            {
                result[result.count - 1].last = address
            } else {
                result.append(Run(first: address, last: address))
            }
        }
        return result
    }

    /// nft's element list, spelt as `nft list` prints it: `10.0.0.9`, `10.0.0.2-10.0.0.5`, and a run
    /// that is exactly one aligned block as its prefix, `10.0.0.4/30`.
    static func nft(_ addresses: [IPAddress]) -> [String] {
        runs(addresses).map { run in
            if run.first == run.last { return "\(run.first)" }
            // span + 1 addresses; a block when that is a power of two the first address is aligned to.
            let span = run.last.value - run.first.value
            if span == .max { return "\(run.first)/0" }
            if span & (span + 1) == 0, run.first.value & span == 0 {
                return "\(run.first)/\(run.first.family.bitWidth - (span + 1).trailingZeroBitCount)"
            }
            return "\(run.first)-\(run.last)"
        }
    }

    /// The kernel's elements, as nft sends them: each run's first address, then the address after its
    /// last flagged as an interval end (none for a run that reaches the top of the address space).
    static func netlink(_ addresses: [IPAddress]) -> [AnonymousSet.Element] {
        let end = NFT_SET_ELEM_INTERVAL_END.rawValue
        var elements: [AnonymousSet.Element] = []
        for run in runs(addresses) {
            guard run.last.value < run.last.family.maximum else {
                elements.append(
                    AnonymousSet.Element(key: NetworkAddressMatch.bytes(run.first), userdata: intervalOpenMark))
                continue
            }
            elements.append(AnonymousSet.Element(key: NetworkAddressMatch.bytes(run.first)))
            let after = IPAddress(family: run.last.family, value: run.last.value + 1)
            elements.append(AnonymousSet.Element(key: NetworkAddressMatch.bytes(after), flags: end))
        }
        return elements
    }

    /// The addresses the kernel's elements stand for, as its lookup reads them: a key is in the set
    /// when the greatest element at or below it is a start. nil: keys of the wrong length, other
    /// element flags, or more addresses than `expansionLimit`.
    static func fromKernel(_ elements: [(key: [UInt8], flags: UInt32)], family: IPFamily) -> [IPAddress]? {
        let end = NFT_SET_ELEM_INTERVAL_END.rawValue
        var decoded: [(address: IPAddress, isEnd: Bool)] = []
        for element in elements {
            guard element.key.count == family.bitWidth / 8, element.flags & ~end == 0,
                let address = NetworkAddressMatch.address(element.key)
            else { return nil }
            decoded.append((address, element.flags & end != 0))
        }
        decoded.sort { $0.address < $1.address || ($0.address == $1.address && $0.isEnd && !$1.isEnd) }
        var runs: [Run] = []
        var open: IPAddress?
        for (address, isEnd) in decoded {
            if !isEnd {
                if open == nil { open = address }
            } else if let first = open {
                // nft's leading 0.0.0.0 end, or an end right at a start, closes nothing.
                guard address.value > first.value else { continue }
                runs.append(Run(first: first, last: IPAddress(family: family, value: address.value - 1)))
                open = nil
            }
        }
        if let first = open { runs.append(Run(first: first, last: IPAddress(family: family, value: family.maximum))) }
        return expand(runs)
    }

    /// The addresses of nft's JSON elements: `"a"`, `{"range": [a, b]}`, `{"prefix": {"addr": a, "len": n}}`.
    /// nil: anything else (an element with a timeout, a counter or data is no element of sitewall's).
    static func fromJSON(_ raw: [Any], family: IPFamily) -> [IPAddress]? {
        var runs: [Run] = []
        for item in raw {
            if let text = item as? String, let address = IPAddress(text), address.family == family {
                runs.append(Run(first: address, last: address))
            } else if let range = (item as? [String: Any])?["range"] as? [String], range.count == 2,
                let first = IPAddress(range[0]), let last = IPAddress(range[1]), first.family == family,
                last.family == family, first <= last
            {
                runs.append(Run(first: first, last: last))
            } else if let prefix = (item as? [String: Any])?["prefix"] as? [String: Any],
                let text = prefix["addr"] as? String, let length = prefix["len"] as? Int,
                let network = IPNetwork(text + "/\(length)"), network.address.family == family
            {
                runs.append(Run(first: network.address, last: network.lastAddress))
            } else {
                return nil
            }
        }
        return expand(runs.sorted { $0.first < $1.first })
    }

    /// Every address of the runs, sorted; nil past `expansionLimit`.
    static func expand(_ runs: [Run]) -> [IPAddress]? {
        var total: UInt128 = 0
        for run in runs {
            let span = run.last.value - run.first.value
            guard span < UInt128(expansionLimit) else { return nil }
            total += span + 1
            if total > UInt128(expansionLimit) { return nil }
        }
        var addresses: [IPAddress] = []
        addresses.reserveCapacity(Int(total))
        for run in runs {
            var value = run.first.value
            while true {
                addresses.append(IPAddress(family: run.first.family, value: value))
                if value == run.last.value { break }
                value += 1
            }
        }
        return Array(Set(addresses)).sorted()
    }
}

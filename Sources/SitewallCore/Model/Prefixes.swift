extension IPNetwork {
    init(unchecked address: IPAddress, prefixLength: Int) {
        self = IPNetwork("\(address)/\(prefixLength)")!
    }

    /// The fewest prefixes that cover exactly these addresses (all of one family).
    public static func covering(_ addresses: [IPAddress]) -> [IPNetwork] {
        guard let family = addresses.first?.family else { return [] }
        let width = family.bitWidth
        let values = Array(Set(addresses.map(\.value))).sorted()
        var result: [IPNetwork] = []
        var index = 0
        while index < values.count {
            // A run of consecutive addresses, then split into aligned blocks.
            var end = index
            while end + 1 < values.count && values[end + 1] == values[end] + 1 { end += 1 }
            var start = values[index]
            let last = values[end]
            while start <= last {
                var bits = 0
                while bits < width {
                    let size = UInt128(1) << UInt128(bits + 1)
                    if start % size != 0 || start + size - 1 > last { break }
                    bits += 1
                }
                result.append(IPNetwork(unchecked: IPAddress(family: family, value: start), prefixLength: width - bits))
                let size = UInt128(1) << UInt128(bits)
                if start > UInt128.max - size { break }
                start += size
            }
            index = end + 1
        }
        return result
    }
}

/// Values from linux/netfilter.h and linux/netfilter/nf_tables.h, named as there.
public enum NetlinkConstants {
    public static let familyInet: UInt16 = 1      // NFPROTO_INET
    static let nfprotoIPv4: UInt8 = 2             // NFPROTO_IPV4
    static let nfprotoIPv6: UInt8 = 10            // NFPROTO_IPV6

    static let hookPrerouting: UInt32 = 0         // NF_INET_PRE_ROUTING
    static let hookInput: UInt32 = 1              // NF_INET_LOCAL_IN
    static let hookForward: UInt32 = 2            // NF_INET_FORWARD
    static let hookOutput: UInt32 = 3             // NF_INET_LOCAL_OUT
    static let hookPostrouting: UInt32 = 4        // NF_INET_POST_ROUTING

    static let drop: Int32 = 0                    // NF_DROP
    static let accept: Int32 = 1                  // NF_ACCEPT

    static let regVerdict: UInt32 = 0             // NFT_REG_VERDICT
    static let reg1: UInt32 = 1                   // NFT_REG_1

    static let cmpEq: UInt32 = 0                  // NFT_CMP_EQ
    static let cmpNeq: UInt32 = 1                 // NFT_CMP_NEQ
    static let cmpGte: UInt32 = 5                 // NFT_CMP_GTE
    static let cmpLte: UInt32 = 3                 // NFT_CMP_LTE

    static let metaIif: UInt32 = 4                // NFT_META_IIF
    static let metaOif: UInt32 = 5                // NFT_META_OIF
    static let metaIifname: UInt32 = 6            // NFT_META_IIFNAME
    static let metaOifname: UInt32 = 7            // NFT_META_OIFNAME
    static let metaNfproto: UInt32 = 15           // NFT_META_NFPROTO
    static let metaL4proto: UInt32 = 16           // NFT_META_L4PROTO

    static let payloadNetwork: UInt32 = 1         // NFT_PAYLOAD_NETWORK_HEADER
    static let payloadTransport: UInt32 = 2       // NFT_PAYLOAD_TRANSPORT_HEADER

    static let ctState: UInt32 = 0                // NFT_CT_STATE
    static let objectCtHelper: UInt32 = 3         // NFT_OBJECT_CT_HELPER

    static let setAnonymous: UInt32 = 0x1         // NFT_SET_ANONYMOUS
    static let setConstant: UInt32 = 0x2          // NFT_SET_CONSTANT

    // nft's datatype ids, which `nft list` uses to print set keys.
    static let typeIPv4Address: UInt32 = 7
    static let typeIPv6Address: UInt32 = 8
    static let typeInetService: UInt32 = 13
    static let typeICMPv6Type: UInt32 = 29

    static let protoTCP: UInt8 = 6
    static let protoUDP: UInt8 = 17
    static let protoICMPv6: UInt8 = 58

    // ct state bits (NF_CT_STATE_*_BIT as nft maps them).
    static let ctStateBits: [CtState: UInt32] = [.invalid: 0x1, .established: 0x2, .related: 0x4, .new: 0x8, .untracked: 0x40]

    static let icmpv6Types: [String: UInt8] = [
        "nd-router-solicit": 133, "nd-router-advert": 134, "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136,
    ]
}

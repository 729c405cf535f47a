/// Sites that exercise how protocols really behave (issue 12), shared by unit and kernel tests.
public enum ProtocolTruthSites {
    /// A gateway serving DHCP to one zone, and a multi-homed DHCP client.
    public static let dhcpOnAGateway = """
        site: t
        zones:
          ops: { networks: [10.0.1.0/24] }
          cams: { networks: [10.0.4.0/24] }
        hosts:
          gw: { gateway: { interfaces: { ops: eth1, cams: eth4 } }, addresses: [10.0.1.1, 10.0.4.1],
                roles: [dhcp/server] }
          cam-1: { address: 10.0.4.30, roles: [dhcp/client] }
          nvr: { addresses: [10.0.4.40, 10.0.4.41], roles: [dhcp/client] }
        """
}

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

    /// A gateway relaying the DHCP requests of its camera zone to a server in the operations zone.
    public static let dhcpRelay = """
        site: t
        zones:
          ops: { networks: [10.0.1.0/24] }
          cams: { networks: [10.0.4.0/24] }
        hosts:
          gw: { gateway: { interfaces: { ops: eth1, cams: eth4 } }, addresses: [10.0.1.1, 10.0.4.1],
                roles: [dhcp/relay] }
          dhcp-1: { address: 10.0.1.5, roles: [dhcp/server] }
          cam-1: { address: 10.0.4.30, roles: [dhcp/client] }
        """

    /// Two BACnet devices, one moved to 47809.
    public static let bacnetMoved = """
        site: t
        zones:
          bms: { networks: [10.0.4.0/24] }
        hosts:
          ahu-1: { address: 10.0.4.21, roles: [bacnet/device] }
          ahu-2: { address: 10.0.4.22, roles: [bacnet/device], ports: { bacnet/bacnet: 47809 } }
        """
}

/// A site whose Modbus port override mixes a port and a range: nft can say it, netlink cannot.
public enum BackendCheckSite {
    public static let text = """
        site: t
        zones:
          a: { networks: [10.0.0.0/24] }
        hosts:
          plc: { address: 10.0.0.2, roles: [modbus/server], ports: { modbus/modbus: "502,1000-1010" } }
          scada: { address: 10.0.0.1, roles: [modbus/client] }
        """
}

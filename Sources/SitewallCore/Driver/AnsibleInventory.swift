/// `sitewall inventory SITE`: the site's gateways and hosts as an Ansible inventory file (the static
/// form, in JSON, which Ansible's yaml inventory plugin reads), for the collection in ansible/.
/// Targets are the machines that run sitewall: those that offer SSH (`ssh/server`), or every host with
/// `allHosts`. Each gets the address the controller reaches it by, and the target name to apply.
public enum AnsibleInventory {
    public enum Failure: Error, CustomStringConvertible {
        case unknownController(String, hint: String)

        public var description: String {
            switch self {
            case .unknownController(let name, let hint): "--controller '\(name)' is not a host of the site: \(hint)"
            }
        }
    }

    /// The service a target must offer to be managed over SSH.
    static let sshService = "ssh/ssh"

    /// `controller`: the site's host Ansible runs on; a target's address in one of its zones is preferred
    /// (the path that does not cross a gateway), else its first IPv4 address, else its first.
    public static func json(_ workspace: Workspace, controller: String?, allHosts: Bool = false) throws -> String {
        let site = workspace.resolved
        var preferred: [String] = []
        if let controller {
            guard let host = site.host(named: controller) else {
                throw Failure.unknownController(
                    controller, hint: DidYouMean.hint(for: controller, among: site.hosts.map(\.name), kind: "host"))
            }
            preferred = FlowDeriver.uniqued(host.addresses.map(\.zone))
        }
        var hostvars: [String: JSONValue] = [:]
        var gateways: [String] = []
        var hosts: [String] = []
        var zones: [String: [String]] = [:]
        for host in site.hosts where host.name != controller {
            guard allHosts || host.offers[sshService] != nil, !host.addresses.isEmpty else { continue }
            let address =
                host.addresses.first { preferred.contains($0.zone) }
                ?? host.addresses.first { $0.address.family == .ipv4 } ?? host.addresses[0]
            let hostZones = FlowDeriver.uniqued(host.addresses.map(\.zone))
            hostvars[host.name] = .object([
                "ansible_host": .string("\(address.address)"),
                "sitewall_kind": .string(host.isGateway ? "gateway" : "host"),
                "sitewall_target": .string(host.name),
                "sitewall_zones": .array(hostZones.map(JSONValue.string)),
                "sitewall_addresses": .array(host.addresses.map { .string("\($0.address)") }),
                "sitewall_management": .array(host.management.map(JSONValue.string)),
            ])
            if host.isGateway { gateways.append(host.name) } else { hosts.append(host.name) }
            for zone in hostZones { zones["zone_\(zone)", default: []].append(host.name) }
        }
        // Ansible's static inventory form (its yaml plugin reads JSON): the vars with each target once,
        // under its kind's group; the zone groups list the same hosts.
        let members = { (names: [String], vars: Bool) -> JSONValue in
            .object([
                "hosts": .object(
                    Dictionary(uniqueKeysWithValues: names.map { ($0, vars ? hostvars[$0]! : .object([:])) }))
            ])
        }
        var children: [String: JSONValue] = [
            "sitewall_gateways": members(gateways, true), "sitewall_hosts": members(hosts, true),
        ]
        for (zone, names) in zones { children[zone] = members(names, false) }
        let document: [String: JSONValue] = [
            "all": .object([
                "vars": .object(["sitewall_site_name": .string(site.site.name)]),
                "children": .object(children),
            ])
        ]
        return try JSONText.encode(JSONValue.object(document))
    }
}

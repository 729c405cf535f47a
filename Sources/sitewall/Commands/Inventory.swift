import ArgumentParser
import SitewallCore

extension Sitewall {
    struct Inventory: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inventory",
            abstract: "Print the site's gateways and hosts as an Ansible inventory file (JSON).",
            discussion: """
                The targets are the machines that run sitewall: every host that offers SSH (ssh/server), or \
                every host with --all-hosts. Groups: sitewall_gateways, sitewall_hosts and zone_ZONE; each \
                target's vars: ansible_host (its address in the controller's zone when it has one, else its \
                first IPv4 address), sitewall_kind (host or gateway), sitewall_target, sitewall_zones, \
                sitewall_addresses, sitewall_management. Use it as a static inventory file, e.g. \
                'sitewall inventory site.yaml --controller eng-1 > inventory.json' and \
                'ansible-playbook -i inventory.json ...' (see ansible/ in the sitewall repository).
                """
        )

        @OptionGroup var options: SiteOptions

        @Option(help: "The site's host Ansible runs on (left out; its zones decide the addresses used).")
        var controller: String?

        @Flag(help: "Every host of the site, not only those that offer SSH.")
        var allHosts = false

        func run() throws {
            let workspace = try options.load()
            do {
                print(
                    try AnsibleInventory.json(workspace, controller: controller, allHosts: allHosts), terminator: "")
            } catch let error as AnsibleInventory.Failure {
                Output.error("\(error)")
                throw ExitCode.failure
            }
        }
    }
}

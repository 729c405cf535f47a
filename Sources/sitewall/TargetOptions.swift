import ArgumentParser
import SitewallCore

/// --host NAME | --gateway NAME, shared by the commands that act on one target.
struct TargetOptions: ParsableArguments {
    @Option(help: "This host.")
    var host: String?

    @Option(help: "This gateway.")
    var gateway: String?

    var kind: Target.Kind { host != nil ? .host : .gateway }
    var name: String { host ?? gateway ?? "" }

    func validate() throws {
        guard (host == nil) != (gateway == nil) else {
            throw ValidationError("give exactly one of --host NAME or --gateway NAME")
        }
    }
}

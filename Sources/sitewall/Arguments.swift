import ArgumentParser
import SitewallCore

// The CLI's choices, as types: an unknown value is refused by the parser with the list of valid ones.

extension BackendKind: ExpressibleByArgument {}

extension IPFamily: ExpressibleByArgument {}

enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json

    /// "nft" is the old spelling of text (compile --format nft).
    init?(argument: String) {
        self.init(rawValue: argument == "nft" ? "text" : argument)
    }
}

/// Exit statuses, in one place (diff follows diff(1): 0 same, 1 different, 2 trouble).
extension ExitCode {
    /// Differences found, a refusal, or bad input: nothing was changed.
    static let refused = ExitCode.failure
    /// The command could not do its work (an unreadable file, a kernel error, a failed write after a commit).
    static let trouble = ExitCode(2)
    // Interrupted: 128 + the signal, from Lab.removingLabsOnSignals (verify).
}

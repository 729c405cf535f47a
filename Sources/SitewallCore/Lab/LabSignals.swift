import CSitewallLinux
import Foundation

extension Lab {
    /// Runs `body` with SIGINT, SIGTERM and SIGHUP tearing every live lab down: `stopping` runs first
    /// (stop whatever would start more work), then every lab's processes and namespaces go, then
    /// `then`; `message` is printed and the process exits with 128 + the signal. Ctrl-C never leaves a
    /// namespace or a daemon behind. A signal the process was started ignoring (nohup) stays ignored;
    /// the others' previous handling is back once the outermost `body` returns. Calls may nest and
    /// repeat (one per site of an interop run): each hears every signal.
    public static func removingLabsOnSignals<T>(
        message: String, stopping: @escaping @Sendable () -> Void = {}, then: @escaping @Sendable () -> Void = {},
        _ body: () throws -> T
    ) rethrows -> T {
        SignalForwarder.shared.push(SignalForwarder.Context(message: message, stopping: stopping, then: then))
        defer { SignalForwarder.shared.pop() }
        // Once a signal is caught, whatever `body` makes of the vanishing lab is moot: wait for the
        // handler's exit. The C handler's flag, not only `interrupted`: a child killed by the same Ctrl-C
        // can fail `body` before the handler's thread has woken, and the failure must not exit first.
        let caught = { Lab.interrupted || CSitewallLinux_signal_received() != 0 }
        do {
            let result = try body()
            if caught() { parkForever() }
            return result
        } catch {
            if caught() { parkForever() }
            throw error
        }
    }

    private static func parkForever() -> Never {
        while true { sleep(60) }
    }
}

/// Signals reach Swift through a pipe: a C handler writes the signal's number, a thread of its own
/// reads it and runs the teardown outside signal context.
final class SignalForwarder: @unchecked Sendable {
    struct Context {
        var message: String
        var stopping: @Sendable () -> Void
        var then: @Sendable () -> Void
    }

    static let shared = SignalForwarder()
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    private let lock = NSLock()
    private var contexts: [Context] = []
    private var previous: [Int32: sigaction] = [:]
    private var pipeEnds: (read: Int32, write: Int32)?

    func push(_ context: Context) {
        lock.withLock {
            if contexts.isEmpty { install() }
            contexts.append(context)
        }
    }

    func pop() {
        lock.withLock {
            contexts.removeLast()
            if contexts.isEmpty { restore() }
        }
    }

    /// Called with the lock held.
    private func install() {
        if pipeEnds == nil {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { return }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            pipeEnds = (ends[0], ends[1])
            let readEnd = ends[0]
            let reader = Thread { [self] in self.readSignals(from: readEnd) }
            reader.name = "sitewall-signals"
            reader.start()
        }
        guard let (_, write) = pipeEnds else { return }
        for sig in Self.signals {
            var old = sigaction()
            // Started ignoring it (nohup, a background job's SIGINT): so it stays.
            guard sigaction(sig, nil, &old) == 0, CSitewallLinux_signal_ignored(sig) == 0 else { continue }
            previous[sig] = old
            _ = CSitewallLinux_forward_signal(sig, write)
        }
    }

    /// Called with the lock held.
    private func restore() {
        for (sig, old) in previous {
            var old = old
            sigaction(sig, &old, nil)
        }
        previous = [:]
    }

    private func readSignals(from fd: Int32) {
        var byte: UInt8 = 0
        while true {
            let got = read(fd, &byte, 1)
            if got < 0 && errno == EINTR { continue }
            guard got == 1 else { return }
            handle(Int32(byte))
        }
    }

    private func handle(_ sig: Int32) {
        let active = lock.withLock { contexts }
        guard let innermost = active.last else {
            // Between runs: what the signal would have done without sitewall's handler.
            signal(sig, SIG_DFL)
            raise(sig)
            return
        }
        for context in active.reversed() { context.stopping() }
        Lab.tearDownAll()
        for context in active.reversed() { context.then() }
        FileHandle.standardError.write(Data((innermost.message + "\n").utf8))
        exit(128 + sig)
    }
}

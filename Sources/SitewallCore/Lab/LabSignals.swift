import Foundation

extension Lab {
    /// Runs `body` with SIGINT, SIGTERM and SIGHUP tearing every live lab down: `stopping` runs first
    /// (stop whatever would start more work), then every lab's processes and namespaces go, then
    /// `then`; `message` is printed and the process exits with 128 + the signal. Ctrl-C never leaves a
    /// namespace or a daemon behind. The signals' previous handling is back once `body` returns.
    public static func removingLabsOnSignals<T>(
        message: String, stopping: @escaping @Sendable () -> Void = {}, then: @escaping @Sendable () -> Void = {},
        _ body: () throws -> T
    ) rethrows -> T {
        var handlers: [(DispatchSourceSignal, Int32, sighandler_t?)] = []
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let previous = signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                stopping()
                Lab.tearDownAll()
                then()
                FileHandle.standardError.write(Data((message + "\n").utf8))
                exit(128 + sig)
            }
            source.resume()
            handlers.append((source, sig, previous))
        }
        defer {
            for (source, sig, previous) in handlers {
                source.cancel()
                signal(sig, previous)
            }
        }
        // Once a handler has started, whatever `body` makes of the vanishing lab is moot: wait for its exit.
        do {
            let result = try body()
            if Lab.interrupted { parkForever() }
            return result
        } catch {
            if Lab.interrupted { parkForever() }
            throw error
        }
    }

    private static func parkForever() -> Never {
        while true { sleep(60) }
    }
}

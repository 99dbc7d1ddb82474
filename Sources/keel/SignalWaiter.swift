import Dispatch
import Foundation

/// The first of the given signals to arrive, polled by a loop that ends its command cleanly (the
/// signals no longer kill the process while it waits).
final class SignalWaiter: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: String?
    private var sources: [DispatchSourceSignal] = []

    init(_ signals: [(number: Int32, name: String)]) {
        for (number, name) in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                self.seen = self.seen ?? name
                self.lock.unlock()
            }
            source.resume()
            sources.append(source)
        }
    }

    var received: Bool { lock.lock(); defer { lock.unlock() }; return seen != nil }
    var name: String { lock.lock(); defer { lock.unlock() }; return seen ?? "" }

    /// Stops watching (the signals stay ignored).
    func cancel() {
        for source in sources { source.cancel() }
    }
}

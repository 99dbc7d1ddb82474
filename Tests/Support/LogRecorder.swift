import Foundation
import Logging

/// Collects log events (name and metadata) for the tests to look at.
public final class LogRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(event: String, metadata: [String: String])] = []

    public init() {}

    public func add(_ event: String, _ metadata: [String: String]) {
        lock.lock()
        entries.append((event, metadata))
        lock.unlock()
    }

    public func all(_ event: String) -> [[String: String]] {
        lock.lock()
        defer { lock.unlock() }
        return entries.filter { $0.event == event }.map(\.metadata)
    }

    public var logger: Logger {
        Logger(label: "keel.test") { _ in RecordingHandler(recorder: self) }
    }

    struct RecordingHandler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            recorder.add(event.message.description, (event.metadata ?? [:]).mapValues { "\($0)" })
        }
    }
}

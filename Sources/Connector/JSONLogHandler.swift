import Foundation
import Logging

/// swift-log to JSON lines on stderr: `{"ts":…,"level":…,"event":…,"label":…,…metadata}`. stdout
/// carries data, so logs never go there. Values are written as given: callers never log secrets.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: String] = [:]
        for (key, value) in metadata { object[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { object[key] = "\(value)" }
        if let error = event.error { object["error"] = "\(error)" }
        object["ts"] = ISO8601DateFormatter.keel.string(from: Date())
        object["level"] = event.level.rawValue
        object["event"] = event.message.description
        object["label"] = label
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        data.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let result = write(2, buffer.baseAddress! + written, buffer.count - written)
                if result <= 0 { return }
                written += result
            }
        }
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let keel: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}

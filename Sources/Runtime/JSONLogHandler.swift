import Foundation
import Market
import Logging

/// swift-log to JSON lines on stderr: `{"ts":…,"level":…,"event":…,"label":…,…metadata}`. stdout
/// carries data, so logs never go there. Every line goes through `LogRedactor` first: the message,
/// each metadata value (the whole value when its key names a secret) and the error.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let sink: @Sendable ([UInt8]) -> Void

    /// `sink` gets each finished line with its newline (default: written to fd 2).
    public init(label: String, level: Logger.Level = .info, sink: @escaping @Sendable ([UInt8]) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.sink = sink
        logLevel = level
    }

    public static let standardError: @Sendable ([UInt8]) -> Void = { bytes in
        bytes.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let result = write(2, buffer.baseAddress! + written, buffer.count - written)
                if result <= 0 { return }
                written += result
            }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: String] = [:]
        func add(_ key: String, _ value: String) {
            object[key] = LogRedactor.isSensitive(key: key) ? LogRedactor.mask : LogRedactor.redact(value)
        }
        for (key, value) in metadata { add(key, "\(value)") }
        for (key, value) in event.metadata ?? [:] { add(key, "\(value)") }
        if let error = event.error { add("error", "\(error)") }
        object["ts"] = UTCTime.formatISO8601(WallClock.nanoseconds())
        object["level"] = event.level.rawValue
        object["event"] = LogRedactor.redact(event.message.description)
        object["label"] = label
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        sink(Array(data))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Market

/// Writes the bot's order log: one JSON object a line (`OrderLogEntry`) to `DIR/orders_YYYYMMDD.jsonl`,
/// the day taken from each entry's own time, each line written whole with one `write(2)` so a crash
/// leaves whole lines. Order events are few; nothing is buffered.
public final class OrderLogWriter: @unchecked Sendable {
    public let directory: String
    private let lock = NSLock()
    private var descriptor: Int32 = -1
    private var day: Int?
    private let encoder: JSONEncoder
    public private(set) var failed: String?

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    public func write(_ entry: OrderLogEntry) {
        guard var line = try? encoder.encode(entry) else { return }
        line.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        let entryDay = UTCTime.day(entry.time)
        if entryDay != day {
            if descriptor >= 0 { Foundation.close(descriptor) }
            let path = "\(directory)/orders_\(UTCTime.dayStamp(day: entryDay)).jsonl"
            descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            day = entryDay
            if descriptor < 0 { failed = "cannot open \(path): \(String(cString: strerror(errno)))" }
        }
        guard descriptor >= 0 else { return }
        _ = line.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if descriptor >= 0 { Foundation.close(descriptor) }
        descriptor = -1
    }

    deinit { if descriptor >= 0 { Foundation.close(descriptor) } }
}

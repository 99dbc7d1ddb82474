import Foundation
import Synchronization

/// A log file that rotates by size: when the next write would take `path` past `maxBytes`, it becomes
/// `path.1` (`.1` → `.2`, …), only the `keep` newest rotated files are kept, and before every write the
/// total of all of them is held under `totalCap` by deleting the oldest. Writes never fail loudly: a
/// file that cannot be written is counted (`failures`), the caller goes on.
public final class RotatingLogFile: Sendable {
    public struct Policy: Sendable, Equatable {
        /// Rotate when the current file would pass this.
        public var maxBytes: Int64 = 100 << 20
        /// Rotated files kept beside the current one.
        public var keep = 5
        /// All files together stay under this (5 GB).
        public var totalCap: Int64 = 5 << 30

        public init(maxBytes: Int64 = 100 << 20, keep: Int = 5, totalCap: Int64 = 5 << 30) {
            self.maxBytes = maxBytes
            self.keep = keep
            self.totalCap = totalCap
        }
    }

    private struct State {
        var handle: FileHandle?
        var size: Int64 = 0
        /// Bytes of the rotated files, refreshed at every rotation.
        var rotatedBytes: Int64 = 0
        var rotations = 0
        var failures = 0
    }

    public let path: String
    public let policy: Policy
    private let state = Mutex(State())

    public init(path: String, policy: Policy = Policy()) throws {
        self.path = path
        self.policy = policy
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        let size = (try? handle.seekToEnd()).map { Int64($0) } ?? 0
        state.withLock { state in
            state.handle = handle
            state.size = size
            state.rotatedBytes = Self.rotatedSizes(path: path, keep: policy.keep).reduce(0, +)
        }
    }

    /// The path of rotated file `n` (1 is the newest).
    public func rotated(_ n: Int) -> String { "\(path).\(n)" }

    public var rotations: Int { state.withLock { $0.rotations } }
    public var failures: Int { state.withLock { $0.failures } }

    public func write(_ bytes: [UInt8]) {
        state.withLock { state in
            let count = Int64(bytes.count)
            if state.size > 0, state.size + count > policy.maxBytes { rotate(&state) }
            // The cap, before the write: oldest rotated files go first.
            var n = policy.keep
            while state.size + state.rotatedBytes + count > policy.totalCap, n >= 1 {
                let file = rotated(n)
                if let size = Self.size(file) {
                    try? FileManager.default.removeItem(atPath: file)
                    state.rotatedBytes -= size
                }
                n -= 1
            }
            if state.size + count > policy.totalCap {
                // Even the current file alone would pass the cap: start it again.
                try? state.handle?.truncate(atOffset: 0)
                state.size = 0
            }
            do {
                try state.handle?.write(contentsOf: bytes)
                state.size += count
            } catch {
                state.failures += 1
            }
        }
    }

    public func close() {
        state.withLock { state in
            try? state.handle?.close()
            state.handle = nil
        }
    }

    private func rotate(_ state: inout State) {
        try? state.handle?.close()
        let manager = FileManager.default
        try? manager.removeItem(atPath: rotated(policy.keep))
        if policy.keep >= 1 {
            for n in stride(from: policy.keep - 1, through: 1, by: -1) where manager.fileExists(atPath: rotated(n)) {
                try? manager.moveItem(atPath: rotated(n), toPath: rotated(n + 1))
            }
            try? manager.moveItem(atPath: path, toPath: rotated(1))
        } else {
            try? manager.removeItem(atPath: path)
        }
        _ = manager.createFile(atPath: path, contents: nil)
        state.handle = FileHandle(forWritingAtPath: path)
        if state.handle == nil { state.failures += 1 }
        state.size = 0
        state.rotations += 1
        state.rotatedBytes = Self.rotatedSizes(path: path, keep: policy.keep).reduce(0, +)
    }

    private static func size(_ file: String) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value
    }

    private static func rotatedSizes(path: String, keep: Int) -> [Int64] {
        guard keep >= 1 else { return [] }
        return (1...keep).compactMap { size("\(path).\($0)") }
    }
}

import Foundation

/// Locates `shared/data` beside the checkout from this file's own path (never the working
/// directory): CI clones the project with `shared/` next to it.
public enum SharedData {
    /// The repository root: Tests/Support/SharedData.swift → three levels up.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let root: URL = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data")

    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    public static func path(_ relative: String) -> String { url(relative).path }

    /// Every line of a (plain) text file under shared/data.
    public static func lines(_ relative: String) throws -> [String] {
        try String(contentsOf: url(relative), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// The docs-example files whose name starts with `prefix`.
    public static func docsExamples(prefix: String) throws -> [URL] {
        let folder = url("bybit/docs-examples")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".ndjson") }
            .sorted()
            .map { folder.appendingPathComponent($0) }
    }
}

/// A small deterministic generator (SplitMix64) so randomized tests replay the same cases.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    /// Runs `body` over this string's UTF-8 bytes.
    public func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var copy = self
        return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}

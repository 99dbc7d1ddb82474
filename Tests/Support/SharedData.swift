import Foundation
@_exported import Market

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

/// Randomized tests replay the same cases from a seed with Keel's one seeded generator.
public typealias SeededGenerator = SeededRandom

extension String {
    /// Runs `body` over this string's UTF-8 bytes.
    public func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var copy = self
        return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}

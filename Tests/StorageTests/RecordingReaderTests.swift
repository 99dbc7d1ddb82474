import Foundation
import Storage
import Testing
import TestSupport

struct RecordingReaderTests {
    private func temporaryFile(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("keel-\(UUID().uuidString)-\(name)").path
    }

    private func lines(of path: String) throws -> [String] {
        var lines: [String] = []
        try RecordingReader.forEachLine(path: path) { lines.append(String(decoding: $0, as: UTF8.self)) }
        return lines
    }

    private func shell(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(command)")
    }

    @Test func gzipAndPlainGiveTheSameLinesAcrossChunkBoundaries() throws {
        // Lines of varying length so several straddle the 1 MiB read chunks; no trailing newline.
        var text = ""
        for i in 0..<40_000 { text += "\(i) " + String(repeating: "x", count: i % 97) + "\n" }
        text += "last-line-without-newline"
        let plain = temporaryFile("plain.txt")
        try text.write(toFile: plain, atomically: true, encoding: .utf8)
        try shell("gzip -c '\(plain)' > '\(plain).gz'")
        defer { try? FileManager.default.removeItem(atPath: plain); try? FileManager.default.removeItem(atPath: plain + ".gz") }
        let expected = text.split(separator: "\n").map(String.init)
        #expect(try lines(of: plain) == expected)
        #expect(try lines(of: plain + ".gz") == expected)
        #expect(try RecordingReader.readAll(path: plain + ".gz") == Array(text.utf8))
    }

    @Test func readsTheSharedCapture() throws {
        var count = 0
        var bytes = 0
        try RecordingReader.forEachLine(path: SharedData.path("binance-usdm/btcusdt_20240808.gz")) {
            count += 1
            bytes += $0.count + 1
        }
        #expect(count == 93_954)
        #expect(bytes == 27_757_550)
    }

    @Test func missingFileAndDirectoryAreClearErrors() {
        #expect(throws: RecordingError.self) { try lines(of: "/nonexistent/keel/file.gz") }
        #expect(throws: RecordingError.self) { try lines(of: "/tmp") }
        do {
            _ = try lines(of: "/nonexistent/keel/file.gz")
        } catch {
            #expect("\(error)".contains("/nonexistent/keel/file.gz"))
            #expect("\(error)".contains("No such file"))
        }
    }

    @Test func aCutGzipGivesTheLinesBeforeTheCutAndSaysSo() throws {
        let plain = temporaryFile("t.txt")
        var text = ""
        for i in 0..<50_000 { text += "{\"u\":\(i * 7_919 % 100_003),\"p\":\"\(i % 977).\(i % 13)\"}\n" }
        try text.write(toFile: plain, atomically: true, encoding: .utf8)
        try shell("gzip -c '\(plain)' > '\(plain).full.gz' && head -c $(( $(stat -c%s '\(plain).full.gz') / 2 )) '\(plain).full.gz' > '\(plain).gz'")
        defer {
            for suffix in ["", ".gz", ".full.gz"] { try? FileManager.default.removeItem(atPath: plain + suffix) }
        }
        let full = try lines(of: plain + ".full.gz")
        #expect(full.count == 50_000)
        var cut: [String] = []
        let end = try RecordingReader.forEachLine(path: plain + ".gz") { cut.append(String(decoding: $0, as: UTF8.self)) }
        guard case .truncated(let reason) = end else { Issue.record("not truncated: \(end)"); return }
        #expect(reason.contains("cut"))
        // Whole lines only: the unfinished one at the cut is dropped.
        #expect(cut.count > 10_000 && cut.count < 50_000)
        #expect(cut == Array(full.prefix(cut.count)))
        // The whole-file read (the sim's replay) still refuses it.
        #expect(throws: RecordingError.self) { _ = try RecordingReader.readAll(path: plain + ".gz") }
    }
}

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

    /// Many chunks through the gunzip thread's ring, in order; damage past the first chunks is an error
    /// after the lines before it, and the thread stops with the reader.
    @Test func theRingKeepsOrderAndDamageMidwayIsAnErrorAfterTheLinesBeforeIt() throws {
        let plain = temporaryFile("ring.txt")
        var text = ""
        for i in 0..<240_000 { text += "\(i) \(i &* 2_654_435_761 % 1_000_003) " + String(repeating: "y", count: i % 31) + "\n" }
        try text.write(toFile: plain, atomically: true, encoding: .utf8)
        // Damage a stretch two thirds in (gzip's CRC or its codes catch it).
        try shell("gzip -1 -c '\(plain)' > '\(plain).gz' && cp '\(plain).gz' '\(plain).bad.gz' && "
                  + "printf 'garbage-garbage-garbage' | dd of='\(plain).bad.gz' bs=1 seek=$(( $(stat -c%s '\(plain).gz') * 2 / 3 )) conv=notrunc 2>/dev/null")
        defer {
            for suffix in ["", ".gz", ".bad.gz"] { try? FileManager.default.removeItem(atPath: plain + suffix) }
        }
        let expected = text.split(separator: "\n").map(String.init)
        #expect(text.utf8.count > 6 * (1 << 20))
        #expect(try lines(of: plain + ".gz").elementsEqual(expected))
        var before: [String] = []
        #expect(throws: RecordingError.self) {
            try RecordingReader.forEachLine(path: plain + ".bad.gz") { before.append(String(decoding: $0, as: UTF8.self)) }
        }
        // Lines well before the damage are the file's (gzip checks a member's CRC only at its end, so
        // what is inflated just before the damage is found may be garbage).
        #expect(before.count > 1_000 && before.count < expected.count)
        #expect(before.prefix(1_000).elementsEqual(expected.prefix(1_000)))
    }
}

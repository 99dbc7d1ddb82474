import Runtime
import Foundation
import Testing

/// Size-based rotation: the five newest kept, the total cap held before every write.
struct RotatingLogFileTests {
    private func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keel-logs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func size(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
    }

    @Test func rotatesBySizeAndKeepsTheNewestFive() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bot.log").path
        let log = try RotatingLogFile(path: path, policy: .init(maxBytes: 1_000, keep: 5, totalCap: 1 << 30))
        let line = Array(String(repeating: "x", count: 99).utf8) + [10]  // 100 bytes
        for _ in 0..<95 { log.write(line) }
        log.close()
        // 10 lines a file: 9 full rotations, the current file holds the last 5 lines.
        #expect(log.rotations == 9)
        #expect(size(path) == 500)
        for n in 1...5 { #expect(size(log.rotated(n)) == 1_000, "file .\(n)") }
        #expect(!FileManager.default.fileExists(atPath: log.rotated(6)))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(files.count == 6, "\(files)")
        #expect(log.failures == 0)
    }

    @Test func theTotalCapIsHeldBeforeEveryWrite() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sim.log").path
        let log = try RotatingLogFile(path: path, policy: .init(maxBytes: 1_000, keep: 5, totalCap: 2_500))
        let line = Array(String(repeating: "y", count: 99).utf8) + [10]
        for i in 0..<200 {
            log.write(line)
            let total = try FileManager.default.contentsOfDirectory(atPath: dir.path)
                .map { size(dir.appendingPathComponent($0).path) }.reduce(0, +)
            #expect(total <= 2_500, "after write \(i): \(total) bytes")
        }
        log.close()
        #expect(size(path) > 0)
    }

    @Test func anExistingFileIsAppendedTo() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bot.log").path
        try Data("first\n".utf8).write(to: URL(fileURLWithPath: path))
        let log = try RotatingLogFile(path: path)
        log.write(Array("second\n".utf8))
        log.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first\nsecond\n")
    }
}

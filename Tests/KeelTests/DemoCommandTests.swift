import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `keel demo`, the README's first command, run as a user runs it: it prints where to look, every URL it
/// prints to open answers, the bot logs its own listening line, it quotes, and Ctrl-C stops it cleanly.
struct DemoCommandTests {
    @Test func theDemoPrintsItsURLsAnswersOnThemQuotesAndStopsOnCtrlC() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let demo = Process()
        demo.executableURL = try keelURL()
        demo.arguments = ["demo", "--http-port", "0", "--storage-path", directory.appendingPathComponent("demo.sqlite").path]
        demo.currentDirectoryURL = directory
        let output = Pipe(), errors = Pipe()
        demo.standardOutput = output
        demo.standardError = errors
        demo.standardInput = FileHandle.nullDevice
        try demo.run()
        defer { if demo.isRunning { demo.terminate() } }
        let stdout = Collector(output.fileHandleForReading)
        let stderr = Collector(errors.fileHandleForReading)

        #expect(try await waitFor(.seconds(60)) { stdout.text.contains("sim exchange") || !demo.isRunning }, "\(stderr.text.suffix(2_000))")
        let banner = stdout.text
        // The URLs to open come before "Also:", the dashboard's first; each is for a browser (http).
        let toOpen = banner.split(separator: "\n").prefix { !$0.hasPrefix("Also:") }
            .compactMap { line in line.split(separator: " ").first { $0.hasPrefix("http://") }.map(String.init) }
        #expect(toOpen.count == 7, "\(banner)")
        #expect(toOpen.first?.hasSuffix("/") == true && toOpen.first?.split(separator: "/").count == 2, "\(banner)")
        #expect(toOpen.contains { $0.hasSuffix("/health") } && toOpen.contains { $0.hasSuffix("/sim/stats") })
        #expect(!banner.split(separator: "\n").prefix { !$0.hasPrefix("Also:") }.contains { $0.contains("ws://") })
        // Ready (connected, books valid) within a minute, then every URL answers 200.
        let ready = try #require(toOpen.first { $0.hasSuffix("/ready") })
        #expect(try await waitFor(.seconds(60)) { (try? await get(ready))?.0 == 200 })
        for url in toOpen {
            let status = try await get(url).0
            #expect(status == 200, "\(url) answered \(status)")
        }
        // It quotes (after its backfill) within two minutes.
        let strategy = try #require(toOpen.first { $0.hasSuffix("/strategy/status") })
        #expect(try await waitFor(.seconds(120)) {
            guard let body = try? await get(strategy).1,
                  let status = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return false }
            return status["quoting"] as? Bool == true && !((status["live_orders"] as? [Any]) ?? []).isEmpty
        }, "the demo never quoted")
        // The bot's own listening line, not the HTTP library's.
        #expect(stderr.text.contains("keel_http_listening"))
        #expect(!stderr.text.contains("Server started and listening"))

        demo.interrupt()
        #expect(try await waitFor(.seconds(45)) { !demo.isRunning })
        let said = await stderr.drained()
        #expect(demo.terminationStatus == 0, "\(said.suffix(2_000))")
    }
}

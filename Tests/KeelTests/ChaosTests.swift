import Connector
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Runtime
import Supervisor
import Testing
import TestSupport

/// The chaos suite: the earlier system's manual checklist as code, against a real `keel sim` and the
/// `keel run` binary, with short thresholds. Each scenario prints its figures (min / median / max).
@Suite(.serialized)
struct ChaosTests {
    struct Health {
        var connected: Bool
        var pid: Int32?
        var secondsSinceLastEvent: Double?
        var booksValid: Bool
        var staleRestarts: Int
    }

    static func health(_ bot: Bot) async -> Health? {
        guard let (_, body) = try? await get(bot.base + "/ws/health"),
              let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let connector = object["connector"] as? [String: Any] else { return nil }
        let books = connector["books"] as? [String: [String: Any]] ?? [:]
        return Health(connected: connector["connected"] as? Bool == true,
                      pid: ((connector["connector_health"] as? [String: Any])?["pid"] as? Int).map { Int32($0) },
                      secondsSinceLastEvent: connector["seconds_since_last_event"] as? Double,
                      booksValid: !books.isEmpty && books.values.allSatisfy { $0["valid"] as? Bool == true },
                      staleRestarts: connector["stale_restarts"] as? Int ?? 0)
    }

    /// Connected, every book valid, an event within the last second (and, after a kill, a new child).
    static func flowing(_ health: Health?, notPid old: Int32? = nil) -> Bool {
        guard let health, health.connected, health.booksValid, let since = health.secondsSinceLastEvent, since < 1 else { return false }
        return old == nil || (health.pid != nil && health.pid != old)
    }

    static func figures(_ values: [Double]) -> String {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return "none" }
        return String(format: "min %.3f / median %.3f / max %.3f s", sorted.first!, sorted[sorted.count / 2], sorted.last!)
    }


    static func openFiles(_ pid: Int32) -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }

    @Test func twentyConnectorKillsRecoverWithinTwoSecondsWithoutZombiesOrDescriptorGrowth() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let yaml = simYAML(sim.port, extra: "strategy:\n  paper_trading: true\n",
                           monitoring: ["reconnect_base_ms: 100", "reconnect_cap_ms: 500", "stale_threshold: 10", "stale_grace: 3"])
        let bot = try await startBot(yaml, in: directory)
        defer { bot.stop() }
        #expect(try await waitFor { Self.flowing(await Self.health(bot)) })
        let botPid = bot.process.processIdentifier
        let filesBefore = Self.openFiles(botPid)
        var recoveries: [Double] = []
        for round in 1...20 {
            guard let old = await Self.health(bot)?.pid else {
                Issue.record("round \(round): no connector pid")
                break
            }
            kill(old, SIGKILL)
            let killed = ContinuousClock.now
            let back = try await waitFor(.seconds(10)) { Self.flowing(await Self.health(bot), notPid: old) }
            #expect(back, "round \(round): not back within 10 s")
            let seconds = (ContinuousClock.now - killed).inSeconds
            recoveries.append(seconds)
            #expect(seconds < 2, "round \(round): events flowing again after \(seconds) s")
            #expect(ProcessTable.entry(old) == nil, "round \(round): the killed child \(old) is still in /proc (a zombie?)")
            try await Task.sleep(for: .milliseconds(300))
        }
        let zombies = ProcessTable.children(of: botPid).filter { $0.state == "Z" }
        #expect(zombies.isEmpty, "zombies: \(zombies)")
        #expect(ProcessTable.children(of: botPid).count == 1, "the bot has exactly one child, its connector")
        let filesAfter = Self.openFiles(botPid)
        #expect(filesAfter - filesBefore <= 4, "open files \(filesBefore) → \(filesAfter)")
        #expect(!bot.stderr.text.contains("bybit_connector_cleanup_error"))
        print("chaos (kill -9 connector ×20): \(recoveries.count) recoveries, \(Self.figures(recoveries)); open files \(filesBefore) → \(filesAfter); zombies \(zombies.count)")
    }

    @Test func tenStallsAreDetectedWithinTheThresholdAndRecovered() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let yaml = simYAML(sim.port, extra: "strategy:\n  enabled: false\n",
                           monitoring: ["stale_threshold: 2", "stale_grace: 1", "reconnect_base_ms: 100", "reconnect_cap_ms: 500"])
        let bot = try await startBot(yaml, in: directory)
        defer { bot.stop() }
        #expect(try await waitFor { Self.flowing(await Self.health(bot)) })
        var detections: [Double] = []
        var recoveries: [Double] = []
        for round in 1...10 {
            let restartsBefore = await Self.health(bot)?.staleRestarts ?? 0
            try await sim.fault(#"{"kind":"stall","seconds":3.5}"#)
            let stalled = ContinuousClock.now
            let detected = try await waitFor(.seconds(6)) { (await Self.health(bot)?.staleRestarts ?? 0) > restartsBefore }
            let detection = (ContinuousClock.now - stalled).inSeconds
            #expect(detected && detection < 2 + 1, "round \(round): stale detected after \(detection) s (threshold 2 s)")
            detections.append(detection)
            let back = try await waitFor(.seconds(10)) { Self.flowing(await Self.health(bot)) }
            #expect(back, "round \(round): not recovered")
            recoveries.append((ContinuousClock.now - stalled).inSeconds)
        }
        print("chaos (stall ×10, threshold 2 s): detected \(Self.figures(detections)); data again \(Self.figures(recoveries)) after the stall began")
    }

    @Test func aThousandMalformedFramesAreCountedAndTheFeedGoesOn() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let bot = try await startBot(simYAML(sim.port, extra: "strategy:\n  enabled: false\n"), in: directory)
        defer { bot.stop() }
        #expect(try await waitFor { Self.flowing(await Self.health(bot)) })
        let pid = await Self.health(bot)?.pid
        for _ in 0..<1_000 { try await sim.fault(#"{"kind":"malformed"}"#) }
        // Every broken frame is logged by the connector (one line each, through the bot's log).
        let counted = try await waitFor(.seconds(20)) {
            bot.stderr.text.components(separatedBy: "bybit_public_malformed_message").count - 1 >= 1_000
        }
        let logged = bot.stderr.text.components(separatedBy: "bybit_public_malformed_message").count - 1
        #expect(counted, "\(logged) of 1000 malformed frames logged")
        let now = await Self.health(bot)
        #expect(Self.flowing(now), "the feed stopped")
        #expect(now?.pid == pid, "the connector was restarted")
        #expect(bot.process.isRunning)
        print("chaos (malformed ×1000): \(logged) logged, same connector, feed flowing")
    }
}

extension ChaosTests {
    /// Prometheus text → value of one sample line (`name{labels}`), nil when absent.
    static func metric(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    /// New connections refused for 30 s while every socket is dropped: each session retries on its backoff
    /// (base 0.5 s, doubling, cap 4 s, jitter ≤ 30 %): no more attempts than that schedule allows, none a
    /// storm, all shown in `ws_reconnect_attempts_total`, and data flows again once the refusal ends.
    @Test func thirtySecondsOfRefusedConnectionsFollowTheBackoffAndRecover() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sim = try await SimChildProcess()
        defer { sim.stop() }
        let yaml = simYAML(sim.port, extra: "strategy:\n  enabled: false\n",
                           monitoring: ["reconnect_base_ms: 500", "reconnect_cap_ms: 4000", "stale_threshold: 120", "stale_grace: 5"])
        let bot = try await startBot(yaml, in: directory)
        defer { bot.stop() }
        #expect(try await waitFor { Self.flowing(await Self.health(bot)) })
        let pid = await Self.health(bot)?.pid
        try await sim.fault(#"{"kind":"reject","seconds":30}"#)
        try await sim.fault(#"{"kind":"drop"}"#)
        let dropped = ContinuousClock.now
        let back = try await waitFor(.seconds(45)) {
            guard ContinuousClock.now - dropped > .seconds(30) else { return false }
            return Self.flowing(await Self.health(bot))
        }
        let recovery = (ContinuousClock.now - dropped).inSeconds
        #expect(back, "no data after the refusal ended (\(recovery) s)")
        let after = await Self.health(bot)?.pid
        #expect(after == pid, "the connector reconnected by itself; the supervisor did not restart it")
        let (_, text) = try await get(bot.base + "/metrics")
        let attempts = Self.metric(text, #"ws_reconnect_attempts_total{exchange="bybit",ws_type="public"}"#) ?? 0
        // Within 30 s + the last delay, a 0.5 s base doubling to a 4 s cap allows at most 0.5+1+2+4+4+… : 11 attempts
        // without jitter; jitter only lengthens delays. At least 5 (the refusal lasts past the fifth).
        #expect(attempts >= 5 && attempts <= 11, "public reconnect attempts \(attempts)")
        let delay = Self.metric(text, #"ws_reconnect_delay_seconds{exchange="bybit",ws_type="public"}"#) ?? 0
        #expect(delay >= 4 && delay <= 4 * 1.3 + 0.01, "last public delay \(delay) s (cap 4 s + jitter)")
        print("chaos (reject 30 s): public reconnect attempts \(Int(attempts)), last delay \(delay) s, data again \(String(format: "%.2f", recovery)) s after the drop")
    }
}

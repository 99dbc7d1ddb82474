import Foundation
import Logging
import Market
import Storage
import Testing
import TestSupport

struct FrameRecorderTests {
    private let quiet: Logger = {
        var logger = Logger(label: "keel.test.recorder")
        logger.logLevel = .critical
        return logger
    }()

    private func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("keel-rec-\(UUID().uuidString)").path
    }

    private func record(_ recorder: FrameRecorder, _ text: String, _ symbol: String, at time: Int64) {
        text.withBytes { recorder.record($0, symbol: symbol, receiveTime: time) }
    }

    private func lines(_ path: String) throws -> (lines: [String], end: RecordingEnd) {
        var lines: [String] = []
        let end = try RecordingReader.forEachLine(path: path) { lines.append(String(decoding: $0, as: UTF8.self)) }
        return (lines, end)
    }

    /// 2024-08-08T23:59:59.5Z and half a second later, the next UTC day.
    private let beforeMidnight: Int64 = 1_723_161_599_500_000_000
    private let afterMidnight: Int64 = 1_723_161_600_000_000_000

    @Test func framesRollToANewFileAtUTCMidnightByTheirOwnTimes() throws {
        let out = directory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let recorder = try FrameRecorder(configuration: RecorderConfiguration(directory: out + "/nested"), logger: quiet)
        record(recorder, #"{"topic":"publicTrade.BTCUSDT","n":1}"#, "BTCUSDT", at: beforeMidnight)
        record(recorder, #"{"topic":"publicTrade.ETHUSDT","n":2}"#, "ETHUSDT", at: beforeMidnight + 1)
        record(recorder, #"{"topic":"publicTrade.BTCUSDT","n":3}"#, "BTCUSDT", at: afterMidnight)
        record(recorder, #"{"success":true,"op":"subscribe"}"#, "", at: afterMidnight)
        recorder.close()
        #expect(FrameRecorder.fileName(symbol: "BTCUSDT", receiveTime: beforeMidnight) == "BTCUSDT_20240808.gz")
        #expect(try lines(out + "/nested/BTCUSDT_20240808.gz").lines == [#"1723161599500000000 {"topic":"publicTrade.BTCUSDT","n":1}"#])
        #expect(try lines(out + "/nested/BTCUSDT_20240809.gz").lines == [#"1723161600000000000 {"topic":"publicTrade.BTCUSDT","n":3}"#])
        #expect(try lines(out + "/nested/ETHUSDT_20240808.gz").lines.count == 1)
        let stats = recorder.stats
        #expect(stats.frames == 3 && stats.files == 3 && stats.unfiled == 1 && stats.dropped == 0)
        #expect(stats.bytesOnDisk > 0 && stats.rawBytes > stats.bytesOnDisk / 10)
    }

    @Test func eachFlushIsACompleteMemberAndARestartAppendsToTheSameDay() throws {
        let out = directory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        var configuration = RecorderConfiguration(directory: out)
        configuration.flushInterval = 1_000_000_000
        let recorder = try FrameRecorder(configuration: configuration, logger: quiet)
        let start = afterMidnight + 3_600_000_000_000
        for i in 0..<300 {
            let time = start + Int64(i) * 10_000_000
            record(recorder, #"{"topic":"orderbook.50.BTCUSDT","i":\#(i)}"#, "BTCUSDT", at: time)
            recorder.flushIfDue(now: time)
        }
        let path = out + "/BTCUSDT_20240809.gz"
        // Three seconds of frames, flushed every second: the file on disk already holds whole members.
        let flushed = try lines(path)
        #expect(flushed.end == .complete && flushed.lines.count >= 200 && flushed.lines.count < 300)
        recorder.close()
        // A second recorder the same day (a restart) appends members to the same file.
        let again = try FrameRecorder(configuration: configuration, logger: quiet)
        record(again, #"{"topic":"orderbook.50.BTCUSDT","i":300}"#, "BTCUSDT", at: start + 4_000_000_000)
        again.close()
        let all = try lines(path)
        #expect(all.end == .complete && all.lines.count == 301 && all.lines.last!.hasSuffix(#""i":300}"#))
        // gzip itself reads the members as one stream.
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -t '\(path)'"]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
    }

    @Test func theSizeCapStopsRecordingAndSaysWhy() throws {
        let out = directory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        var configuration = RecorderConfiguration(directory: out)
        configuration.flushInterval = 1
        configuration.maxBytes = 2_000
        let recorder = try FrameRecorder(configuration: configuration, logger: quiet)
        var rng = SeededRandom(seed: 7)
        for i in 0..<2_000 {
            // Random digits: they do not compress away.
            let noise = (0..<40).map { _ in String(UInt8.random(in: 0...9, using: &rng)) }.joined()
            record(recorder, #"{"topic":"publicTrade.BTCUSDT","x":"\#(noise)"}"#, "BTCUSDT", at: afterMidnight + Int64(i) * 1_000)
            recorder.flushIfDue(now: afterMidnight + Int64(i) * 1_000)
        }
        let stats = recorder.stats
        #expect(stats.stopped?.contains("recording.max_bytes") == true)
        #expect(stats.dropped > 0 && stats.frames + stats.dropped == 2_000)
        #expect(stats.bytesOnDisk >= 2_000 && stats.bytesOnDisk < 4_000)
    }

    @Test func aDirectoryThatCannotBeMadeIsAClearError() {
        #expect(throws: RecordingError.self) { try FrameRecorder(configuration: RecorderConfiguration(directory: "/proc/keel-cannot"), logger: quiet) }
    }
}

import ArgumentParser
import Connector
import ExchangeSim
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Runtime
import Service
import Supervisor

/// `keel soak`: the sim and the bot (paper quoting, the connector supervised) for a bounded time under a
/// fault schedule, sampling every process of the tree; writes `resources.jsonl`, `events.jsonl`,
/// `resources.analysis.json`, `summary.txt` and `resources.svg`, and exits 1 when a verdict fails.
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Run the sim and the bot under a fault schedule for a bounded time; sample resources; judge leaks, CPU, disk and recoveries.",
        discussion: """
        Faults (default schedule: every --fault-interval seconds the next of kill_connector, stall, drop, gap, restart, \
        rest_error, rate_limit, reject, malformed, latency, close_code) are applied to the running system; after each the \
        bot must be healthy again (connected, books valid, data flowing) within 60 s. Ctrl-C stops early and writes the \
        analysis of what ran. Exit 0 when every verdict passes, 1 otherwise.
        """
    )

    @Option(help: "How long to run: 90s, 5m, 1h, 24h.")
    var duration = "1h"

    @Option(help: "A fault schedule: one JSON fault a line with `at` seconds after start, kinds as `keel sim --faults` plus kill_connector.")
    var faults: String?

    @Option(help: "The output directory (resources.jsonl, events.jsonl, resources.analysis.json, summary.txt, logs, storage).")
    var out = "artifacts/soak"

    @Option(help: "Seconds between resource samples.")
    var sampleInterval = 60.0

    @Option(help: "Seconds between faults of the default schedule.")
    var faultInterval = 60.0

    @Option(help: "Seconds at the start left out of the growth figures (default: 5 min, at most a fifth of the run).")
    var warmup: Double?

    @Option(help: "Analyse the files of a finished (or stopped) run in this directory again, with these thresholds; run nothing.")
    var analyse: String?

    @Flag(help: "Trade the sim's demo account (orders on the sim) instead of paper quoting.")
    var live = false

    @Option(help: "Verdict: bot + connector memory slope below this many MB per hour.")
    var maxMemorySlope = 1.0

    @Option(help: "Verdict: bot + connector mean CPU below this percent of one core.")
    var maxCpu = 80.0

    @Option(help: "Verdict: everything written below this many MB.")
    var diskCapMb = 1024

    func run() async throws {
        if let analyse {
            let analysis: SoakAnalysis
            do { analysis = try SoakRun.reanalyse(URL(fileURLWithPath: analyse), thresholds: thresholds(warmup: warmup ?? 300)) } catch {
                throw refuse("--analyse: \(error)", command: "keel soak")
            }
            print(analysis.summary())
            if !analysis.passed { throw ExitCode(1) }
            return
        }
        guard let seconds = DurationText.seconds(duration), seconds > 0, seconds <= 7 * 86_400 else {
            throw refuse("--duration: \(duration) is not a duration; write e.g. 90s, 5m, 1h or 24h (at most 7 days)", command: "keel soak")
        }
        var schedule: [SoakStep]
        if let faults {
            do { schedule = try SoakStep.parse(String(contentsOfFile: faults, encoding: .utf8)) } catch {
                throw refuse("--faults: \(error)", command: "keel soak")
            }
        } else {
            schedule = SoakStep.defaultSchedule(every: faultInterval, until: seconds)
        }
        schedule = schedule.filter { $0.at < seconds }
        let run = try SoakRun(out: out, duration: seconds, sampleInterval: max(sampleInterval, 0.5), schedule: schedule,
                              thresholds: thresholds(warmup: warmup ?? min(300, seconds / 5)), paper: !live)
        let analysis = try await run.run()
        print(analysis.summary())
        print("written: \(out)/resources.jsonl, events.jsonl, resources.analysis.json, summary.txt, resources.svg")
        if !analysis.passed { throw ExitCode(1) }
    }

    /// The verdicts' bounds from the options.
    func thresholds(warmup: Double) -> SoakThresholds {
        var thresholds = SoakThresholds()
        thresholds.memorySlopeMBPerHour = maxMemorySlope
        thresholds.cpuMeanPercent = maxCpu
        thresholds.diskCapBytes = Int64(diskCapMb) << 20
        thresholds.warmupSeconds = warmup
        return thresholds
    }
}

/// One scheduled fault: a sim fault (its JSON passed to `/sim/faults`) or `kill_connector` (kill -9 of the
/// bot's connector child).
struct SoakStep: Sendable {
    var at: Double
    var kind: String
    /// For sim faults: the line sent to the control API.
    var json: String
    var seconds: Double

    static func parse(_ text: String) throws -> [SoakStep] {
        var steps: [SoakStep] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any],
                  let at = (object["at"] as? NSNumber)?.doubleValue, let kind = object["kind"] as? String else {
                throw ValidationError("line \(index + 1): expected {\"at\": seconds, \"kind\": …}")
            }
            let known = SimFault.Kind.allCases.map(\.rawValue) + ["kill_connector"]
            guard known.contains(kind) else { throw ValidationError("line \(index + 1): kind \(kind) is not one of \(known.joined(separator: ", "))") }
            steps.append(SoakStep(at: at, kind: kind, json: trimmed, seconds: (object["seconds"] as? NSNumber)?.doubleValue ?? 0))
        }
        return steps.sorted { $0.at < $1.at }
    }

    static func defaultSchedule(every interval: Double, until end: Double) -> [SoakStep] {
        let cycle: [(String, String, Double)] = [
            ("kill_connector", #"{"kind":"kill_connector"}"#, 0),
            ("stall", #"{"kind":"stall","seconds":8}"#, 8),
            ("drop", #"{"kind":"drop"}"#, 0),
            ("gap", #"{"kind":"gap"}"#, 0),
            ("restart", #"{"kind":"restart"}"#, 0),
            ("rest_error", #"{"kind":"rest_error","seconds":5}"#, 5),
            ("rate_limit", #"{"kind":"rate_limit","seconds":5}"#, 5),
            ("reject", #"{"kind":"reject","seconds":10}"#, 10),
            ("malformed", #"{"kind":"malformed"}"#, 0),
            ("latency", #"{"kind":"latency","seconds":5,"ms":500}"#, 5),
            ("close_code", #"{"kind":"close_code","code":1006}"#, 0),
        ]
        var steps: [SoakStep] = []
        var at = min(interval, end / 3)
        var index = 0
        while at < end - 5 {
            let (kind, json, seconds) = cycle[index % cycle.count]
            steps.append(SoakStep(at: at, kind: kind, json: json, seconds: seconds))
            at += interval
            index += 1
        }
        return steps
    }
}

/// One soak: children started, faults applied, samples taken, everything written.
final class SoakRun: @unchecked Sendable {
    let out: URL
    let duration: Double
    let sampleInterval: Double
    let schedule: [SoakStep]
    let thresholds: SoakThresholds
    let paper: Bool
    private let lock = NSLock()
    private var samples: [SoakSample] = []
    private var faults: [SoakFault] = []
    private var eventLog: FileHandle?
    private var resourceLog: FileHandle?
    private let started = ContinuousClock.now

    init(out: String, duration: Double, sampleInterval: Double, schedule: [SoakStep], thresholds: SoakThresholds, paper: Bool = true) throws {
        self.out = URL(fileURLWithPath: out)
        self.paper = paper
        self.duration = duration
        self.sampleInterval = sampleInterval
        self.schedule = schedule
        self.thresholds = thresholds
        try FileManager.default.createDirectory(at: self.out, withIntermediateDirectories: true)
        // A run starts from nothing: an earlier run's files, logs and their rotations (bot.log.1, …) go.
        let earlier: Set = ["resources.jsonl", "events.jsonl", "resources.analysis.json", "summary.txt", "bot.yaml",
                            "keel.sqlite", "keel.sqlite-wal", "keel.sqlite-shm", "bot.log", "bot.stderr.log", "sim.log"]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: self.out.path)) ?? [] {
            var base = Substring(name)
            if let dot = name.lastIndex(of: "."), case let suffix = name[name.index(after: dot)...], !suffix.isEmpty, suffix.allSatisfy(\.isNumber) {
                base = name[..<dot]
            }
            guard earlier.contains(String(base)) else { continue }
            try? FileManager.default.removeItem(at: self.out.appendingPathComponent(name))
        }
        _ = FileManager.default.createFile(atPath: self.out.appendingPathComponent("resources.jsonl").path, contents: nil)
        _ = FileManager.default.createFile(atPath: self.out.appendingPathComponent("events.jsonl").path, contents: nil)
        resourceLog = FileHandle(forWritingAtPath: self.out.appendingPathComponent("resources.jsonl").path)
        eventLog = FileHandle(forWritingAtPath: self.out.appendingPathComponent("events.jsonl").path)
    }

    var elapsed: Double { (ContinuousClock.now - started).inSeconds }

    func event(_ fields: [String: Any]) {
        var object = fields
        object["t"] = (elapsed * 1_000).rounded() / 1_000
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        lock.withLock { eventLog?.write(data + Data("\n".utf8)) }
    }

    func run() async throws -> SoakAnalysis {
        // The sim, its log rotated like every log Keel writes.
        let simLog = try RotatingLogFile(path: out.appendingPathComponent("sim.log").path, policy: .init(maxBytes: 50 << 20))
        let simPipe = Self.pipe(into: simLog)
        let demo = SimAccountConfig.demo
        let (sim, port, controlPort) = try SimChild.start(config: "{}", stderr: simPipe.fileHandleForWriting)
        event(["event": "sim_started", "pid": Int(sim.processIdentifier), "port": port])
        let bot = try startBot(port: port, key: demo.apiKey, secret: demo.secret)
        event(["event": "bot_started", "pid": Int(bot.process.processIdentifier), "http": bot.base])

        // Ctrl-C: stop early, analyse what ran.
        let interrupt = SignalWaiter([(SIGINT, "SIGINT")])

        let sampler = Task {
            while !Task.isCancelled {
                self.sample(bot: bot.process.processIdentifier, sim: sim.processIdentifier)
                try? await Task.sleep(for: .seconds(self.sampleInterval))
            }
        }
        _ = await waitHealthy(bot.base, timeout: 60, since: nil)
        var next = 0
        var died: (how: String, at: Double)?
        while elapsed < duration, !interrupt.received {
            if !bot.process.isRunning {
                // The bot itself died: nothing to soak any more. Its stderr (bot.stderr.log) says why.
                let how = "\(bot.process.terminationReason == .uncaughtSignal ? "signal" : "exit") \(bot.process.terminationStatus)"
                died = (how, elapsed)
                event(["event": "bot_died", "how": how])
                break
            }
            if next < schedule.count, elapsed >= schedule[next].at {
                await apply(schedule[next], bot: bot, controlPort: controlPort)
                next += 1
                continue
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        sampler.cancel()
        sample(bot: bot.process.processIdentifier, sim: sim.processIdentifier)

        // The stop: SIGTERM, the bot's own bounded shutdown, then nothing may be left.
        let connector = connectorPid(bot.process.processIdentifier)
        let stopAt = ContinuousClock.now
        bot.process.terminate()
        let deadline = ContinuousClock.now + .seconds(45)
        while bot.process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        let stopSeconds = (ContinuousClock.now - stopAt).inSeconds
        let leftovers = connector.map { ProcessTable.members(ofGroup: $0) } ?? []
        event(["event": "bot_stopped", "exit_code": bot.process.isRunning ? -1 : Int(bot.process.terminationStatus),
               "seconds": (stopSeconds * 1_000).rounded() / 1_000, "connector_group_left": leftovers.count])
        if bot.process.isRunning { kill(bot.process.processIdentifier, SIGKILL) }
        sim.terminate()
        sim.waitUntilExit()
        simPipe.fileHandleForReading.readabilityHandler = nil
        simLog.close()
        let zombies = ProcessTable.children().filter { $0.state == "Z" }.count
        event(["event": "finished", "zombies": zombies])
        interrupt.cancel()

        lock.withLock {
            try? resourceLog?.close()
            try? eventLog?.close()
        }
        let exitCode: Int32? = bot.process.isRunning ? nil : bot.process.terminationStatus
        let (sampled, applied) = lock.withLock { (samples, faults) }
        let analysis = lock.withLock {
            Self.judged(SoakAnalysis.analyse(sampled, faults: applied, thresholds: thresholds), died: died,
                        exitCode: exitCode, stopSeconds: stopSeconds, leftovers: leftovers.count, zombies: zombies)
        }
        try Self.write(analysis, samples: sampled, faults: applied, to: out)
        return analysis
    }

    /// The verdicts only the whole run can give: the bot alive to the end, and a clean stop.
    static func judged(_ analysis: SoakAnalysis, died: (how: String, at: Double)?, exitCode: Int32?, stopSeconds: Double,
                       leftovers: Int, zombies: Int) -> SoakAnalysis {
        var analysis = analysis
        let clean = exitCode == 0 && leftovers == 0 && zombies == 0
        analysis.verdicts.append(SoakAnalysis.Verdict(name: "bot alive", passed: died == nil,
                                                      detail: died.map { "died (\($0.how)) at \(Int($0.at)) s; see bot.stderr.log" } ?? "ran to the end"))
        analysis.verdicts.append(SoakAnalysis.Verdict(
            name: "clean stop", passed: clean || died != nil,
            detail: "exit \(exitCode.map { "\($0)" } ?? "none (killed)") in \(String(format: "%.2f", stopSeconds)) s, \(leftovers) left in the connector's group, \(zombies) zombies"))
        analysis.passed = analysis.verdicts.allSatisfy(\.passed)
        return analysis
    }

    /// What a run leaves beside its samples: `resources.analysis.json`, `summary.txt` and `resources.svg`.
    static func write(_ analysis: SoakAnalysis, samples: [SoakSample], faults: [SoakFault], to out: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(analysis).write(to: out.appendingPathComponent("resources.analysis.json"))
        try analysis.summary().write(to: out.appendingPathComponent("summary.txt"), atomically: true, encoding: .utf8)
        try SoakPicture.svg(samples: samples, faults: faults).write(to: out.appendingPathComponent("resources.svg"), atomically: true, encoding: .utf8)
    }

    /// `--analyse DIR`: the analysis again from `resources.jsonl` and `events.jsonl`, written back beside them.
    static func reanalyse(_ directory: URL, thresholds: SoakThresholds) throws -> SoakAnalysis {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let samples = try String(contentsOf: directory.appendingPathComponent("resources.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try decoder.decode(SoakSample.self, from: Data($0.utf8)) }
        var faults: [SoakFault] = []
        var applied: (t: Double, detail: String)?
        var died: (String, Double)?
        var exitCode: Int32?
        var stopSeconds = 0.0
        var leftovers = 0
        var zombies = 0
        for line in try String(contentsOf: directory.appendingPathComponent("events.jsonl"), encoding: .utf8).split(separator: "\n") {
            guard let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            let t = (event["t"] as? NSNumber)?.doubleValue ?? 0
            switch event["event"] as? String {
            case "fault_applied": applied = (t, event["detail"] as? String ?? "")
            case "recovered", "not_recovered":
                let seconds = (event["seconds"] as? NSNumber)?.doubleValue
                let recovered = event["event"] as? String == "recovered"
                faults.append(SoakFault(at: applied?.t ?? t, kind: event["kind"] as? String ?? "", recovered: recovered,
                                        recoverySeconds: seconds, detail: applied?.detail ?? "", recoveredAt: recovered ? t : nil))
            case "bot_died": died = (event["how"] as? String ?? "", t)
            case "bot_stopped":
                let code = (event["exit_code"] as? NSNumber)?.int32Value ?? -1
                exitCode = code < 0 ? nil : code
                stopSeconds = (event["seconds"] as? NSNumber)?.doubleValue ?? 0
                leftovers = (event["connector_group_left"] as? NSNumber)?.intValue ?? 0
            case "finished": zombies = (event["zombies"] as? NSNumber)?.intValue ?? 0
            default: break
            }
        }
        let analysis = judged(SoakAnalysis.analyse(samples, faults: faults, thresholds: thresholds), died: died, exitCode: exitCode,
                              stopSeconds: stopSeconds, leftovers: leftovers, zombies: zombies)
        try write(analysis, samples: samples, faults: faults, to: directory)
        return analysis
    }

    // MARK: The bot

    struct Bot {
        let process: Process
        let base: String
    }

    private func startBot(port: Int, key: String, secret: String) throws -> Bot {
        let http = freeLoopbackPort()
        let yaml = """
        exchange:
          symbols: [BTCUSDT, ETHUSDT]
          public_url: ws://127.0.0.1:\(port)/v5/public/linear
          private_url: ws://127.0.0.1:\(port)/v5/private
          trade_url: ws://127.0.0.1:\(port)/v5/trade
          rest_url: http://127.0.0.1:\(port)
        monitoring:
          http_port: \(http)
          health_check_interval: 1
          stale_threshold: 5
          stale_grace: 3
          health_log_interval: 60
          log_file: \(out.appendingPathComponent("bot.log").path)
          log_max_bytes: 52428800
        strategy:
          paper_trading: \(paper)
          symbol: BTCUSDT
          order_levels: 2
          level_spacing_ticks: 10
        risk:
          enable_kill_switch: false
          max_consecutive_losses: 0
        storage:
          path: \(out.appendingPathComponent("keel.sqlite").path)
        """
        let config = out.appendingPathComponent("bot.yaml")
        try yaml.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: currentExecutable())
        process.arguments = ["run", "--config", config.path]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BYBIT_") && !$0.key.hasPrefix("STORAGE_") }
        environment["BYBIT_API_KEY"] = key
        environment["BYBIT_API_SECRET"] = secret
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        // What the bot writes on stderr outside its log (a crash report) is kept, rotated like the rest.
        let stderrLog = try RotatingLogFile(path: out.appendingPathComponent("bot.stderr.log").path, policy: .init(maxBytes: 10 << 20))
        process.standardError = Self.pipe(into: stderrLog)
        try process.run()
        return Bot(process: process, base: "http://127.0.0.1:\(http)")
    }

    /// A pipe whose every byte goes to `log`, until the writer closes it.
    static func pipe(into log: RotatingLogFile) -> Pipe {
        let pipe = Pipe()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil } else { log.write(Array(data)) }
        }
        return pipe
    }

    /// The bot's connector: its one child that leads its own process group.
    func connectorPid(_ bot: Int32) -> Int32? {
        ProcessTable.children(of: bot).first { $0.state != "Z" && $0.group == $0.pid }?.pid
    }

    // MARK: Faults and health

    private func apply(_ step: SoakStep, bot: Bot, controlPort: Int) async {
        let appliedAt = elapsed
        var detail = ""
        var before: Int32?
        if step.kind == "kill_connector" {
            before = connectorPid(bot.process.processIdentifier)
            if let pid = before {
                kill(pid, SIGKILL)
                detail = "killed pid \(pid)"
            } else {
                detail = "no connector to kill"
            }
        } else {
            let status = await Self.post("http://127.0.0.1:\(controlPort)/sim/faults", body: step.json)
            detail = "sim answered \(status)"
        }
        event(["event": "fault_applied", "kind": step.kind, "detail": detail])
        // Health is judged once the fault is over.
        if step.seconds > 0 { try? await Task.sleep(for: .seconds(step.seconds)) }
        // A fault that does not break the feed at once still needs a moment to show.
        try? await Task.sleep(for: .milliseconds(300))
        let recovered = await waitHealthy(bot.base, timeout: 60, since: before)
        let seconds = recovered.map { $0 + 0.3 }
        event(["event": recovered == nil ? "not_recovered" : "recovered", "kind": step.kind,
               "seconds": seconds.map { ($0 * 1_000).rounded() / 1_000 } ?? NSNull()])
        let recoveredAt = recovered == nil ? nil : elapsed
        lock.withLock {
            faults.append(SoakFault(at: appliedAt, kind: step.kind, recovered: recovered != nil, recoverySeconds: seconds, detail: detail,
                                    recoveredAt: recoveredAt))
        }
    }

    /// Seconds until `/ws/health` shows the connector connected (a new pid when `since` was killed), every
    /// book valid and data within the last 2 s; nil after `timeout`.
    private func waitHealthy(_ base: String, timeout: Double, since killed: Int32?) async -> Double? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(timeout) {
            if let (_, body) = try? await Self.get(base + "/ws/health"),
               let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
               let connector = object["connector"] as? [String: Any], connector["connected"] as? Bool == true,
               let since = connector["seconds_since_last_event"] as? Double, since < 2,
               let books = connector["books"] as? [String: [String: Any]], !books.isEmpty,
               books.values.allSatisfy({ $0["valid"] as? Bool == true }) {
                let pid = (connector["connector_health"] as? [String: Any])?["pid"] as? Int
                if killed == nil || (pid != nil && Int32(pid!) != killed) {
                    return (ContinuousClock.now - start).inSeconds
                }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    static func get(_ url: String) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 5
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    static func post(_ url: String, body: String) async -> Int {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.timeoutInterval = 5
        return ((try? await URLSession.shared.data(for: request))?.1 as? HTTPURLResponse)?.statusCode ?? 0
    }

    // MARK: Samples

    private func sample(bot: Int32, sim: Int32) {
        var processes: [SoakSample.Process] = []
        if let resources = ProcessResources.read(bot) { processes.append(SoakSample.Process(role: "bot", resources: resources)) }
        if let connector = connectorPid(bot), let resources = ProcessResources.read(connector) {
            processes.append(SoakSample.Process(role: "connector", resources: resources))
        }
        if let resources = ProcessResources.read(sim) { processes.append(SoakSample.Process(role: "sim", resources: resources)) }
        let network = ProcessResources.network()
        let sample = SoakSample(t: (elapsed * 1_000).rounded() / 1_000, processes: processes, memoryAvailableBytes: ProcessResources.memoryAvailable(),
                                loopbackReceivedBytes: network.received, loopbackSentBytes: network.sent, diskBytes: Self.bytes(under: out))
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = .sortedKeys
        let line = (try? encoder.encode(sample)).map { $0 + Data("\n".utf8) }
        lock.withLock {
            samples.append(sample)
            if let line { resourceLog?.write(line) }
        }
    }

    static func bytes(under directory: URL) -> Int64 {
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey]) else { return 0 }
        var total: Int64 = 0
        for case let file as URL in walker {
            total += Int64((try? file.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0)
        }
        return total
    }
}

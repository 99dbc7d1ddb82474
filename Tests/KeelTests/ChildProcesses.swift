import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// The `keel` binary the tests run as a child: beside the test bundle (both are products of the same
/// build), beside the test runner, or in .build/debug.
func keelURL() throws -> URL {
    var candidates: [URL] = []
    if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
        candidates.append(URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent().appendingPathComponent("keel"))
    }
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    candidates.append(executable.deletingLastPathComponent().appendingPathComponent("keel"))
    candidates.append(executable.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("keel"))
    candidates.append(SharedData.repositoryRoot.appendingPathComponent(".build/debug/keel"))
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: candidates.map(\.path).joined(separator: ", ")])
    }
    return found
}

/// Runs `keel` with these arguments to the end, as a user would; its exit status, stdout and stderr. The wait
/// is off the cooperative pool (``offThePool(_:)``): a backtest or a replay takes seconds.
func runKeel(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
    let url = try keelURL()
    return try await offThePool { try runToEnd(url, arguments) }
}

private func runToEnd(_ url: URL, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = url
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Both pipes drained at once: a child filling one while we wait on the other would block.
    let errors = Collector(err.fileHandleForReading)
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), errors.finished())
}

/// `keel connector …` as the bot runs it: a child with pipes, stdout and stderr collected.
struct ConnectorChild {
    let process = Process()
    let input = Pipe()
    let stdout: Collector
    let stderr: Collector

    /// `environment`: the whole environment of the child (default: the test's).
    init(_ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = try keelURL()
        process.arguments = ["connector"] + arguments
        if let environment { process.environment = environment }
        let output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        stdout = Collector(output.fileHandleForReading)
        stderr = Collector(errors.fileHandleForReading)
    }

    /// Writes command lines to its stdin.
    func send(_ lines: String...) {
        for line in lines { input.fileHandleForWriting.write(Data(line.utf8 + [10])) }
    }
}

/// Reads a pipe into a buffer on its own thread.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var closed = false
    private var done: Bool { lock.lock(); defer { lock.unlock() }; return closed }

    init(_ handle: FileHandle) {
        Thread {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty {
                    self.lock.lock()
                    self.closed = true
                    self.lock.unlock()
                    return
                }
                self.lock.lock()
                self.data.append(chunk)
                self.lock.unlock()
            }
        }.start()
    }
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    /// The text once the pipe has closed (the writer exited); waits up to 5 s for the reader to drain it.
    /// The text once the writer's end has closed (the child exited and its last bytes are read), waiting at
    /// most `timeout`: a check made after a child's exit reads this, or it races the reader thread.
    @discardableResult
    func drained(_ timeout: Duration = .seconds(5)) async -> String {
        let deadline = ContinuousClock.now + timeout
        while !done, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
        return text
    }

    func finished() -> String {
        let deadline = Date().addingTimeInterval(5)
        while !done, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        return text
    }
}

func waitFor(_ timeout: Duration = .seconds(30), _ condition: () async -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}

/// `keel sim` as a child process on free ports, for the length of a test.
final class SimChildProcess {
    let process = Process()
    let port: Int
    let controlPort: Int

    init(arguments: [String] = []) async throws {
        process.executableURL = try keelURL()
        process.arguments = ["sim", "--port", "0"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let lines = Collector(output.fileHandleForReading)
        _ = try await waitFor { lines.text.contains("sim_listening") }
        let ready = try JSONSerialization.jsonObject(with: Data(lines.text.split(separator: "\n")[0].utf8)) as! [String: Any]
        port = ready["port"] as! Int
        controlPort = ready["control_port"] as! Int
    }

    /// A sim holding one account with these values (its config file is gone once the sim has read it).
    convenience init(account key: String, secret: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-sim-\(UUID().uuidString).json")
        try Data(#"{"accounts":[{"api_key":"\#(key)","secret":"\#(secret)"}]}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try await self.init(arguments: ["--config", file.path])
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    /// Posts a fault to the control API.
    func fault(_ json: String) async throws {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(controlPort)/sim/faults")!)
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        request.timeoutInterval = 60
        _ = try await URLSession.shared.data(for: request)
    }
}

// MARK: keel run as a child

func get(_ url: String) async throws -> (Int, String) {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 30
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

func post(_ url: String, body: String, headers: [String: String] = [:]) async throws -> (Int, String) {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 30
    request.httpMethod = "POST"
    request.httpBody = Data(body.utf8)
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// `keel run --config <yaml>` as a child, its stdout and stderr collected; returns once it listens.
struct Bot {
    let process: Process
    let stdout: Collector
    let stderr: Collector
    let base: String

    func stop() { if process.isRunning { process.interrupt(); process.waitUntilExit() } }
}

func startBot(_ yaml: String, in directory: URL, environment extra: [String: String] = [:]) async throws -> Bot {
    let config = directory.appendingPathComponent("bot-\(UUID().uuidString).yaml")
    // Storage in the test's own directory unless the test names it (never the checkout's data/).
    let stored = yaml.contains("\nstorage:") ? yaml : yaml + "\nstorage:\n  path: \(directory.appendingPathComponent("keel.sqlite").path)\n"
    try Data(stored.utf8).write(to: config)
    let bot = Process()
    bot.executableURL = try keelURL()
    bot.arguments = ["run", "--config", config.path]
    bot.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BYBIT_") }.merging(extra) { $1 }
    let output = Pipe()
    let errors = Pipe()
    bot.standardOutput = output
    bot.standardError = errors
    bot.standardInput = FileHandle.nullDevice
    try bot.run()
    let stdout = Collector(output.fileHandleForReading)
    let stderr = Collector(errors.fileHandleForReading)
    let listening = try await waitFor { stderr.text.contains("keel_http_listening") || !bot.isRunning }
    guard listening, bot.isRunning,
          let line = stderr.text.split(separator: "\n").first(where: { $0.contains("keel_http_listening") }),
          let base = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["url"] as? String else {
        if bot.isRunning { bot.terminate() }
        throw BotDidNotStart(stderr: stderr.text)
    }
    // The bot's own line, not the HTTP library's.
    #expect(!stderr.text.contains("Server started and listening"), "\(stderr.text.prefix(2_000))")
    return Bot(process: bot, stdout: stdout, stderr: stderr, base: base)
}

struct BotDidNotStart: Error { let stderr: String }

func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// `exchange` and `monitoring`: extra `key: value` lines inside those sections; `extra`: more sections.
func simYAML(_ port: Int, extra: String = "", exchange: [String] = [], monitoring: [String] = []) -> String {
    """
    exchange:
      symbols: [BTCUSDT]\(exchange.map { "\n  " + $0 }.joined())
      public_url: ws://127.0.0.1:\(port)/v5/public/linear
      private_url: ws://127.0.0.1:\(port)/v5/private
      trade_url: ws://127.0.0.1:\(port)/v5/trade
      rest_url: http://127.0.0.1:\(port)
    monitoring:
      http_port: 0
      health_check_interval: 1\(monitoring.map { "\n  " + $0 }.joined())
    \(extra)
    """
}

/// A paper bot against `sim` with recording on (flushed every second) into `directory/rec`: the bot, the
/// recordings' directory and the configuration it ran with.
/// `strategy`: more `key: value` lines of its section; `extra`: more sections (e.g. `context:`).
func startRecordingPaperBot(_ sim: SimChildProcess, in directory: URL, strategy: [String] = [], extra: String = "") async throws -> (bot: Bot, recordings: String, yaml: String) {
    let recordings = directory.appendingPathComponent("rec").path
    let lines = (["paper_trading: true"] + strategy).map { "  " + $0 }.joined(separator: "\n")
    let yaml = simYAML(sim.port, extra: "strategy:\n\(lines)\nrecording:\n  enabled: true\n  path: \(recordings)\n  flush_interval: 1\n" + extra)
    return (try await startBot(yaml, in: directory), recordings, yaml)
}

/// The connector's pid from `/ws/health` once the bot is connected.
func connectorPid(_ bot: Bot) async throws -> Int32 {
    var pid: Int32?
    _ = try await waitFor {
        guard let (_, body) = try? await get(bot.base + "/ws/health"),
              let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let connector = object["connector"] as? [String: Any], connector["connected"] as? Bool == true,
              let value = (connector["connector_health"] as? [String: Any])?["pid"] as? Int else { return false }
        pid = Int32(value)
        return true
    }
    return try #require(pid)
}


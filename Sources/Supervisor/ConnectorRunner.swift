import ConnectorWire
import Foundation
import Logging
import Market
import Runtime
import Subprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How the connector child is started and stopped.
public struct RunnerConfiguration: Sendable {
    /// The `keel` executable (the bot starts its connector as this same binary).
    public var executable: String
    /// Everything after the executable, e.g. `["connector", "bybit", "--symbols", "BTCUSDT"]`.
    public var arguments: [String]
    /// Added to the inherited environment (credentials travel this way, never on the command line).
    public var environment: [String: String] = [:]
    public var queueCapacity = 10_000
    /// After `shutdown`: how long the child gets to exit before SIGTERM, then before SIGKILL.
    public var shutdownGrace: Duration = .seconds(3)
    public var terminateGrace: Duration = .seconds(2)
    /// The exchange whose connector this is: the prefix of the log events (`bybit_connector_…`,
    /// `binance_connector_…`) and the wire's `connector` of the supervisor's own statuses.
    public var exchange = "bybit"
    var logPrefix: String { exchange == "binance-usdm" ? "binance" : exchange }

    public init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }
}

/// How a child ended.
public enum ChildExit: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    case failedToStart(String)

    public var description: String {
        switch self {
        case .exited(let code): return "exit code \(code)"
        case .signaled(let signal): return "signal \(signal)"
        case .failedToStart(let reason): return "failed to start: \(reason)"
        }
    }
}

/// One connector child process: started in its own process group, stdout split on `\n` from raw
/// buffers and decoded into the bounded `queue`, every stderr line logged
/// (`bybit_connector_subprocess_stderr`), commands written to stdin in order. `stop()` sends
/// `shutdown`, then SIGTERM, then SIGKILL to the whole group; the child is always reaped (the run
/// returns only after it has exited).
public final class ConnectorRunner: @unchecked Sendable {
    public let configuration: RunnerConfiguration
    public let queue: EventQueue
    let logger: Logger
    private let lock = NSLock()
    private var pid: pid_t?
    /// The child's stdin. Made with the runner, so a command sent before `run()` has started the child
    /// (the bot answers `connector_started` at once) waits in order instead of being lost.
    private let commands = CommandPipe()
    private var hasRun = false
    private var exitStatus: ChildExit?
    private var lastEventNanoseconds: Int64?
    private var decodeErrors = 0
    private var eventsRead = 0

    /// Whether the queue is this runner's own (finished when the child ends) rather than its supervisor's.
    private let ownsQueue: Bool

    /// `queue`: where the events go; nil gives the runner one of its own, finished when the child ends (a
    /// supervisor passes the one queue its consumer reads across restarts).
    public init(configuration: RunnerConfiguration, logger: Logger, queue: EventQueue? = nil) {
        self.configuration = configuration
        self.logger = logger
        ownsQueue = queue == nil
        self.queue = queue ?? EventQueue(capacity: configuration.queueCapacity)
    }

    /// The child's process id while it runs.
    public var processIdentifier: pid_t? { locked { pid } }
    public var exit: ChildExit? { locked { exitStatus } }
    public var isAlive: Bool { locked { pid != nil && exitStatus == nil } }
    /// When the last event line was read (UTC ns), `nil` before the first.
    public var lastEventTime: Int64? { locked { lastEventNanoseconds } }
    public var decodeErrorCount: Int { locked { decodeErrors } }
    public var eventCount: Int { locked { eventsRead } }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Sends one command line (a JSON object, no newline). False when the child is gone.
    @discardableResult
    public func send(_ line: String) -> Bool {
        commands.send(Array(line.utf8) + [0x0A])
    }

    /// Runs the child until it exits; returns how it ended. A queue of its own is finished afterwards.
    public func run() async -> ChildExit {
        var platform = PlatformOptions()
        platform.processGroupID = 0   // its own group: stop() signals the whole tree
        guard !locked({ defer { hasRun = true }; return hasRun }) else { return .failedToStart("the runner has already run") }
        var environment: [Environment.Key: String?] = [:]
        for (name, value) in configuration.environment {
            if let key = Environment.Key(rawValue: name) { environment[key] = value }
        }
        // Its stdin and stdout are pipes of ours (close-on-exec: no other child inherits them): stdout read
        // by a thread of its own, stdin written by the sender itself (`CommandPipe`).
        var output: [Int32] = [-1, -1], input: [Int32] = [-1, -1]
        guard pipe2(&output, O_CLOEXEC) == 0 else {
            commands.close()
            if ownsQueue { queue.finish() }
            return .failedToStart("pipe: \(String(cString: strerror(errno)))")
        }
        guard pipe2(&input, O_CLOEXEC) == 0 else {
            Glibc.close(output[0]); Glibc.close(output[1])
            commands.close()
            if ownsQueue { queue.finish() }
            return .failedToStart("pipe: \(String(cString: strerror(errno)))")
        }
        let (stdoutRead, stdinWrite) = (output[0], input[1])
        let exit: ChildExit
        var reading = false
        do {
            let result = try await Subprocess.run(
                Configuration(executable: .path(FilePath(configuration.executable)), arguments: Arguments(configuration.arguments),
                              environment: .inherit.updating(environment), platformOptions: platform),
                input: .fileDescriptor(FileDescriptor(rawValue: input[0]), closeAfterSpawningProcess: true),
                output: .fileDescriptor(FileDescriptor(rawValue: output[1]), closeAfterSpawningProcess: true),
                error: .sequence
            ) { execution in
                self.started(execution.processIdentifier.value)
                self.commands.attach(stdinWrite)
                reading = true
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await OutputReader.run(descriptor: stdoutRead, name: "\(self.configuration.logPrefix)-connector-out") { self.line($0) }
                    }
                    group.addTask { await self.readErrors(execution.standardError) }
                    // stdout closes when the child exits: then stop feeding its stdin.
                    await group.next()
                    self.commands.close()
                    await group.waitForAll()
                }
            }
            switch result.terminationStatus {
            case .exited(let code): exit = .exited(code)
            case .signaled(let signal): exit = .signaled(signal)
            }
        } catch {
            exit = .failedToStart("\(error)")
        }
        commands.close()
        // Never started: our ends of the pipes are still open (the reader closes stdout's when it ends).
        if !reading {
            Glibc.close(stdoutRead)
            Glibc.close(stdinWrite)
        }
        // The child is reaped; anything still in its group (a grandchild) goes too, before stop() returns.
        if let pid = processIdentifier {
            let left = ProcessTable.members(ofGroup: pid).filter { $0.state != "Z" }
            if !left.isEmpty {
                Glibc.kill(-pid, SIGKILL)
                logger.error("\(configuration.logPrefix)_connector_cleanup_error", metadata: [
                    "reason": "processes left in the connector's group after it exited; killed", "pids": "\(left.map(\.pid))"])
            }
        }
        locked { exitStatus = exit }
        if ownsQueue { queue.finish() }
        switch exit {
        case .exited(let code):
            logger.warning("\(configuration.logPrefix)_connector_subprocess_exited", metadata: ["exit_code": "\(code)", "pid": "\(processIdentifier ?? 0)"])
        case .signaled(let signal):
            logger.warning("\(configuration.logPrefix)_connector_subprocess_terminated", metadata: ["signal": "\(signal)", "pid": "\(processIdentifier ?? 0)"])
        case .failedToStart(let reason):
            logger.error("\(configuration.logPrefix)_connector_subprocess_error", metadata: ["reason": "\(reason)"])
        }
        return exit
    }

    private func started(_ pid: pid_t) {
        locked { self.pid = pid }
        logger.info("\(configuration.logPrefix)_connector_subprocess_connected", metadata: ["pid": "\(pid)"])
    }

    /// Splits a child's raw output buffers on `\n` (never `.strings()`), a line cut across buffers kept
    /// whole; a read failure is logged as `failure`.
    private func readLines(_ output: SubprocessOutputSequence, failure: Logger.Message, _ body: (UnsafeRawBufferPointer) -> Void) async {
        var lines = LineBuffer()
        do {
            for try await buffer in output {
                buffer.withUnsafeBytes { lines.append($0, body) }
            }
        } catch {
            logger.error(failure, metadata: ["reason": "\(error)"])
        }
        lines.finish(body)
    }

    private func line(_ bytes: UnsafeRawBufferPointer) {
        do throws(ConnectorEvent.DecodeError) {
            let event = try ConnectorEvent.decode(bytes)
            let now = WallClock.nanoseconds()
            locked {
                lastEventNanoseconds = now
                eventsRead += 1
            }
            queue.push(event)
        } catch {
            locked { decodeErrors += 1 }
            logger.warning("\(configuration.logPrefix)_connector_json_decode_error", metadata: ["error": "\(error.message)", "bytes": "\(bytes.count)"])
        }
    }

    /// Logs each stderr line: the connector's JSON log lines as the bot's own records (``ConnectorLogLine``),
    /// anything else whole.
    private func readErrors(_ output: SubprocessOutputSequence) async {
        await readLines(output, failure: "\(configuration.logPrefix)_connector_stderr_read_error") { bytes in
            if let record = ConnectorLogLine(bytes) {
                logger.log(level: record.level, "\(record.event)", metadata: record.metadata)
            } else {
                logger.info("\(configuration.logPrefix)_connector_subprocess_stderr", metadata: ["line": "\(String(decoding: bytes, as: UTF8.self))"])
            }
        }
    }

    /// Stops the child: `shutdown`, then SIGTERM to its group, then SIGKILL, each after its grace.
    /// Returns once it has exited (and been reaped).
    public func stop() async {
        if exit != nil { return }
        send(#"{"command":"shutdown","id":"supervisor-shutdown"}"#)
        if await waitForExit(configuration.shutdownGrace) { return }
        signalGroup(SIGTERM)
        if await waitForExit(configuration.terminateGrace) { return }
        logger.error("\(configuration.logPrefix)_connector_cleanup_error", metadata: [
            "reason": "no exit after shutdown and SIGTERM; killing its process group", "pid": "\(processIdentifier ?? 0)"])
        signalGroup(SIGKILL)
        while !(await waitForExit(.seconds(1))) {}
    }

    /// Kills the child's whole process group at once (SIGKILL), as a crash would.
    public func kill() {
        signalGroup(SIGKILL)
    }

    private func signalGroup(_ signal: Int32) {
        guard let pid = processIdentifier, exit == nil else { return }
        Glibc.kill(-pid, signal)
    }

    private func waitForExit(_ grace: Duration) async -> Bool {
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if exit != nil { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exit != nil
    }
}

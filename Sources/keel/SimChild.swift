import ArgumentParser
import Foundation
import Service
import Supervisor

/// A `keel sim` child process for the benchmarks, and the CPU time it used.
enum SimChild {
    static func warnIfDebug() {
        #if DEBUG
        printError("keel bench: warning: this is a debug build; figures are meaningless (use `swift run -c release keel bench …`)")
        #endif
    }

    /// A market of `symbols` instruments (BTCUSDT, ETHUSDT, then synthetic SIM0USDT…): their names,
    /// and the `instruments` list of a sim config for the synthetic ones.
    static func market(symbols: Int) -> (names: [String], instruments: String) {
        let names = ["BTCUSDT", "ETHUSDT"] + (0..<max(0, symbols - 2)).map { "SIM\($0)USDT" }
        let instruments = names.dropFirst(2).map {
            #"{"symbol":"\#($0)","tick_size":"0.01","qty_step":"0.1","min_qty":"0.1","start_price":100}"#
        }.joined(separator: ",")
        return (Array(names.prefix(symbols)), instruments)
    }

    /// Starts `keel sim` (this binary) with `config` on free ports; returns it and its main port.
    static func start(config: String) throws -> (Process, Int) {
        let (child, port, _) = try start(config: config, stderr: FileHandle.nullDevice)
        return (child, port)
    }

    /// The same, with the control port, the sim's log going to `stderr`.
    static func start(config: String, stderr: FileHandle) throws -> (process: Process, port: Int, controlPort: Int) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-sim-\(getpid())-\(UInt32.random(in: 0 ... .max)).json")
        try config.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: currentExecutable())
        child.arguments = ["sim", "--port", "0", "--config", file.path]
        let output = Pipe()
        child.standardOutput = output
        child.standardError = stderr
        try child.run()
        // The child prints one JSON line once listening; read up to it.
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        let line = String(decoding: buffer.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        guard line.contains("sim_listening"),
              let ready = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let port = ready["port"] as? Int, let control = ready["control_port"] as? Int else {
            child.terminate()
            throw ValidationError("keel sim did not start")
        }
        return (child, port, control)
    }

    /// Runs `body`; returns its wall time and the child's CPU cores used over it.
    static func measure(pid: Int32, _ body: () async throws -> Void) async throws -> (wall: Double, cpu: Double) {
        func cpu() -> Double { ProcessResources.read(pid).map { $0.userSeconds + $0.systemSeconds } ?? 0 }
        let cpuBefore = cpu()
        let start = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - start
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (wall, (cpu() - cpuBefore) / wall)
    }
}

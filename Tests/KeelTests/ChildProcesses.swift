import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport

/// The `keel` binary the tests run as a child, next to the test bundle or in .build/debug.
func keelURL() throws -> URL {
    let candidates = [
        Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }.map { URL(fileURLWithPath: $0.bundlePath).deletingLastPathComponent().appendingPathComponent("keel") },
        SharedData.repositoryRoot.appendingPathComponent(".build/debug/keel"),
    ].compactMap { $0 }
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw CocoaError(.fileNoSuchFile)
    }
    return found
}

/// Reads a pipe into a buffer on its own thread.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    init(_ handle: FileHandle) {
        Thread {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
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

import Foundation
import HummingbirdWSClient
import Logging

/// The text messages a WebSocket server pushes in `seconds` after the connection opens (at most `limit`),
/// each with its arrival time in seconds since the connection opened; the client then closes.
public func webSocketTexts(url: String, seconds: Double, limit: Int = 10_000) async throws -> [(at: Double, text: String)] {
    let collected = Collected()
    _ = try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 16 << 20), logger: SimHarness.quiet) { inbound, outbound, _ in
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await message in inbound.messages(maxSize: 16 << 20) {
                    guard case .text(let text) = message else { continue }
                    let at = ContinuousClock.now - start
                    if await collected.add((Double(at.components.seconds) + Double(at.components.attoseconds) / 1e18, text)) >= limit { return }
                }
            }
            group.addTask { try await Task.sleep(for: .milliseconds(Int(seconds * 1_000))) }
            try await group.next()
            group.cancelAll()
        }
        try? await outbound.close(.normalClosure, reason: nil)
    }
    return await collected.items
}

private actor Collected {
    var items: [(at: Double, text: String)] = []
    func add(_ item: (at: Double, text: String)) -> Int {
        items.append(item)
        return items.count
    }
}

import Bybit
import HummingbirdCore
import Market
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging

/// A trade-stream peer for `keel bench connector` that only acknowledges: it answers `auth` and every
/// order op at once with Bybit's ack shape, so the connector's order path is measured without a
/// matching engine (which tops out near 4,700 requests/s on this machine) pacing it.
enum TradeAckPeer {
    static func run(logger: Logger, onReady: @escaping @Sendable (Int) async -> Void) async throws {
        let server = HTTPServerBuilder.http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 1 << 20, autoPing: .disabled))) { _, _, _ in
            .upgrade([:]) { inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(var text) = message,
                          let request = try? text.withUTF8({ try BybitRequest.decode(UnsafeRawBufferPointer($0)) }) else { continue }
                    let now = Int64(Date().timeIntervalSince1970 * 1_000)
                    var out = JSONWriter()
                    out.beginObject()
                    if let id = request.requestId { out.field("reqId", id) }
                    out.field("retCode", 0)
                    out.field("retMsg", "OK")
                    out.field("op", request.op)
                    if request.op != "auth" {
                        out.key("data"); out.beginObject(); out.endObject()
                        out.key("header")
                        out.beginObject()
                        out.field("X-Bapi-Limit", "1000000")
                        out.field("X-Bapi-Limit-Status", "999999")
                        out.field("X-Bapi-Limit-Reset-Timestamp", String(now))
                        out.endObject()
                    }
                    out.field("connId", "bench-peer")
                    out.endObject()
                    try await outbound.write(.text(out.string))
                }
            }
        }
        let application = Application(
            router: Router(), server: server, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "keel-bench-peer"),
            onServerRunning: { channel in await onReady(channel.localAddress?.port ?? 0) }, logger: logger)
        try await application.runService()
    }
}

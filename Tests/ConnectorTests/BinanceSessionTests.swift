import Binance
import Connector
import ConnectorWire
import ExchangeSim
import Foundation
import Market
import Runtime
import Testing
import TestSupport

/// Runs Binance's public session against a Binance sim for the length of `body`.
private func withBinanceSession(_ sim: SimHarness, configure: (inout BinanceSessionConfiguration) -> Void = { _ in },
                                _ body: (BotView, BinancePublicSession) async throws -> Void) async throws {
    var socket = SocketConfiguration(url: sim.binanceURL)
    socket.reconnect = ReconnectPolicy(base: .milliseconds(100), cap: .seconds(2))
    socket.webSocketPing = .seconds(5)
    var configuration = BinanceSessionConfiguration(socket: socket, rest: RestConfiguration(baseURL: sim.restURL), symbols: ["BTCUSDT"])
    // `settled` pauses the flow; only the stall test wants silence to count.
    configuration.bookStaleAfter = .seconds(120)
    configure(&configuration)
    try await following({ try BinancePublicSession(configuration: configuration, logger: SimHarness.quiet, emit: $0) },
                        run: { await $0.run() }, stop: { await $0.stop() }, body)
}

private func binanceSim<T: Sendable>(_ body: (SimHarness) async throws -> T) async throws -> T {
    try await SimHarness.with({ $0.venue = .binanceUSDM }, body)
}

/// Pauses the flow, waits until the diff streams' update id stops moving and the bot has caught up to it.
private func settled(_ sim: SimHarness, _ view: BotView) async throws -> (bids: [PriceLevel], asks: [PriceLevel], updateId: Int64) {
    _ = try await sim.control("POST", "/sim/flow", body: #"{"paused":true}"#)
    var truth = try await sim.binanceTruth(symbol: "BTCUSDT", depth: 1_000)
    for _ in 0..<100 {
        try await Task.sleep(for: .milliseconds(150))
        let next = try await sim.binanceTruth(symbol: "BTCUSDT", depth: 1_000)
        let caughtUp = await view.lastUpdateId == next.updateId
        if next.updateId == truth.updateId && caughtUp { break }
        truth = next
    }
    return truth
}

private func resume(_ sim: SimHarness) async throws {
    _ = try await sim.control("POST", "/sim/flow", body: #"{"paused":false}"#)
}

@Suite(.serialized)
struct BinanceSessionTests {
    @Test func botBookFromDepthEventsEqualsTheTruthAtCheckpoints() async throws {
        try await binanceSim { sim in
            try await withBinanceSession(sim) { view, _ in
                for checkpoint in 0..<3 {
                    #expect(try await wait { await view.depthEvents() > 20 * (checkpoint + 1) })
                    let truth = try await settled(sim, view)
                    #expect(await view.book.levels(.bid) == truth.bids, "checkpoint \(checkpoint)")
                    #expect(await view.book.levels(.ask) == truth.asks, "checkpoint \(checkpoint)")
                    #expect(await view.lastUpdateId == truth.updateId)
                    try await resume(sim)
                }
                #expect(await view.statuses(.resynced).isEmpty)
                #expect(await view.snapshots == 1)
                #expect(await view.failedApplies == 0)
                #expect(await view.statuses(.connected).first?.connector == "binance-usdm")
            }
        }
    }

    /// A lost diff (`pu` ≠ the previous `u`) invalidates the book; a new snapshot mends it, reported
    /// as `resynced` with the reason; then the book equals the truth. Twenty times over.
    @Test func puBreaksResyncFromANewSnapshotEachTime() async throws {
        try await binanceSim { sim in
            try await withBinanceSession(sim) { view, session in
                #expect(try await wait { await view.depthEvents() > 5 })
                for round in 0..<20 {
                    let before = await view.statuses(.resynced).count
                    try await sim.fault(#"{"kind":"pu_break","symbol":"BTCUSDT"}"#)
                    #expect(try await wait { await view.statuses(.resynced).count == before + 1 }, "round \(round): no resync")
                    #expect(await view.statuses(.resynced).last?.reason?.contains("gap") == true)
                    let truth = try await settled(sim, view)
                    #expect(await view.book.levels(.bid) == truth.bids, "round \(round)")
                    #expect(await view.book.levels(.ask) == truth.asks, "round \(round)")
                    try await resume(sim)
                    let events = await view.depthEvents()
                    #expect(try await wait { await view.depthEvents() > events + 2 })
                }
                #expect(await session.stats(now: WallClock.nanoseconds()).resyncs == 20)
            }
        }
    }

    @Test func dropAndExpiryReconnectAndResync() async throws {
        try await binanceSim { sim in
            try await withBinanceSession(sim) { view, _ in
                #expect(try await wait { await view.depthEvents() > 5 })
                for (round, kind) in ["drop", "expire"].enumerated() {
                    try await sim.fault(#"{"kind":"\#(kind)"}"#)
                    #expect(try await wait { await view.connected(round + 2) }, "\(kind)")
                    let truth = try await settled(sim, view)
                    #expect(await view.book.levels(.bid) == truth.bids, "\(kind)")
                    #expect(await view.book.levels(.ask) == truth.asks, "\(kind)")
                    try await resume(sim)
                }
                #expect(await view.statuses(.disconnected).count == 2)
            }
        }
    }

    @Test func stallIsDetectedAsAStaleFeedAndRecovered() async throws {
        try await binanceSim { sim in
            try await withBinanceSession(sim, configure: { $0.bookStaleAfter = .seconds(1) }) { view, _ in
                #expect(try await wait { await view.depthEvents() > 5 })
                try await sim.fault(#"{"kind":"stall","seconds":3}"#)
                #expect(try await wait { await view.statuses(.stale).count >= 1 })
                #expect(await view.statuses(.stale).first?.topic == "btcusdt@depth@100ms")
                #expect(try await wait { await view.reconnectedWithSnapshot() })
            }
        }
    }

    /// Rotation before Binance's 24 h limit, shortened to 2 s: a second connection is opened and
    /// synced, then swapped in — the bot sees no disconnect, no invalid period, and the same book.
    @Test func rotationSwapsInASyncedConnectionWithNoGap() async throws {
        try await binanceSim { sim in
            try await withBinanceSession(sim, configure: { $0.rotateAfter = .seconds(2) }) { view, session in
                #expect(try await wait { await session.rotations >= 2 })
                let truth = try await settled(sim, view)
                #expect(await view.book.levels(.bid) == truth.bids)
                #expect(await view.book.levels(.ask) == truth.asks)
                #expect(await view.statuses(.disconnected).isEmpty)
                #expect(await view.statuses(.resynced).isEmpty)
                #expect(await view.failedApplies == 0)
                // One snapshot at start, then one from each new connection as it takes over.
                #expect(await view.snapshots == 1 + (await session.rotations))
                try await resume(sim)
            }
        }
    }
}

import ConnectorWire
import Market
import MarketContext
import Storage

/// Where the REST backfill of the quoted symbol stands (`context.backfill`).
struct BackfillRun: Sendable {
    enum State: String, Sendable {
        /// No backfill: `context.backfill` is 0, or no exchange is behind the feed.
        case off
        /// Waiting for the connector to ask.
        case waiting
        case running
        case done
        case failed
    }

    var state: State
    var id: String?
    var chunk = 0
    var chunks = 0
    var candles = 0
    var reason: String?
    /// Stored candles, then each chunk's, until the backfill is done.
    var collected: [Candle] = []
    var failedAt: Int64?
    /// The end of the last 1m candle stored (backfilled or live): later closed minutes are stored as they close.
    var storedThrough: Int64?
    /// Chunks of this backfill added to `keel_backfill_chunks_total`, and of earlier ones that ended.
    var planned = 0
    var ended = 0

    /// The chunks this backfill takes, as known now.
    var total: Int { max(chunks, chunk) }

    /// A failed backfill is asked again this long after it failed.
    static let retryAfter: Int64 = 30_000_000_000
}

/// The REST backfill: asked of the connector at its start, chunks collected and stored, then the
/// context seeded and the gate opened (`context.require_backfill`). A restart asks only for what
/// storage does not hold; a backfill that fails keeps the gate shut, says why, and is asked again.
extension MarketMaker {
    /// The gate: quoting waits for the backfill unless `context.require_backfill` is false.
    var backfillReady: Bool {
        !settings.requireBackfill || backfill.state == .off || backfill.state == .done
    }

    /// Why the gate is shut, as `/ready` says it.
    var backfillReason: String {
        switch backfill.state {
        case .off, .done: return ""
        case .waiting: return "backfilling \(symbol): waiting for the connector"
        case .running: return "backfilling \(symbol): \(backfill.chunk)/\(backfill.total) chunks"
        case .failed: return "backfill of \(symbol) failed: \(backfill.reason ?? "unknown"); asked again every \(BackfillRun.retryAfter / 1_000_000_000) s"
        }
    }

    var backfillReport: ContextReport.Backfill {
        var report = ContextReport.Backfill(state: backfill.state.rawValue, chunk: backfill.chunk, chunks: backfill.total,
                                            candles: backfill.candles, reason: backfill.reason)
        if let history = strategy.context.history {
            report.from = history.from / 1_000_000
            report.through = history.through / 1_000_000
            report.candles = history.candles
        }
        return report
    }

    /// Asks the connector for the closed minutes of the last `context.backfill` that storage does not
    /// hold: from the end of the stored minutes when they reach back to the window's start without a
    /// hole, else the whole window.
    func requestBackfill(now: Int64) async {
        let since = KlineWindow.minuteStart(now - Int64(settings.backfill * 1e9))
        var stored: [Candle] = []
        if let storage {
            do {
                stored = try await storage.store.candles(exchange: exchange, symbol: symbol, since: since)
            } catch {
                logger.warning("keel_backfill_storage_unreadable", metadata: ["symbol": "\(symbol)", "reason": "\(error)"])
            }
        }
        var from = since
        var kept: [Candle] = []
        if let first = stored.first, first.start == since {
            for candle in stored {
                if let last = kept.last, candle.start != last.end { break }
                kept.append(candle)
            }
            from = kept.last?.end ?? since
        }
        commandSequence += 1
        let id = "backfill-\(runId)-\(commandSequence)"
        backfill = BackfillRun(state: .running, id: id, candles: kept.count, collected: kept, storedThrough: backfill.storedThrough,
                               ended: backfill.ended + backfill.planned)
        logger.info("keel_backfill_started", metadata: ["symbol": "\(symbol)", "since_ms": "\(from / 1_000_000)", "stored": "\(kept.count)",
                                                        "window_s": "\(settings.backfill)"])
        note(now, "backfill of \(symbol) asked from \(UTCTime.formatISO8601(from))" + (kept.isEmpty ? "" : " (\(kept.count) minutes from storage)"))
        if !send(ConnectorCommand.backfill(id: id, symbol: symbol, since: from / 1_000_000).line) {
            failBackfill("no connector to ask", now: now)
        }
    }

    /// One chunk: kept for the context and stored (a restart resumes from it).
    func backfillChunk(_ chunk: ConnectorEvent.CandleChunk) {
        guard backfill.state == .running, chunk.id == backfill.id else { return }
        backfill.collected += chunk.candles
        backfill.candles += chunk.candles.count
        backfill.chunk = chunk.chunk
        backfill.chunks = chunk.chunks
        for candle in chunk.candles { storage?.enqueue(.candle(exchange: exchange, symbol: symbol, candle)) }
        reportBackfill()
    }

    /// The metrics follow the plan as it grows and the chunks as they come.
    func reportBackfill() {
        let grown = backfill.total - backfill.planned
        backfill.planned += max(grown, 0)
        let done = backfill.state == .running ? backfill.chunk : backfill.planned
        metrics.backfill(symbol: symbol, planned: max(grown, 0), done: backfill.ended + done)
    }

    func backfillProgress(_ progress: ConnectorEvent.BackfillProgress, now: Int64) {
        guard backfill.state == .running, progress.id == backfill.id else { return }
        backfill.chunks = max(backfill.chunks, progress.chunks)
        defer { reportBackfill() }
        switch progress.state {
        case .running:
            logger.info("keel_backfill_progress", metadata: ["symbol": "\(symbol)", "chunk": "\(progress.chunk)", "chunks": "\(progress.chunks)",
                                                             "candles": "\(backfill.candles)", "seconds": "\(progress.seconds)"])
        case .waiting:
            backfill.reason = progress.reason
            logger.warning("keel_backfill_waiting", metadata: ["symbol": "\(symbol)", "reason": "\(progress.reason ?? "")"])
        case .failed:
            failBackfill(progress.reason ?? "the connector gave up", now: now)
        case .done:
            let minutes = backfill.collected
            strategy.finishBackfill(minutes)
            backfill.state = .done
            backfill.reason = nil
            backfill.collected = []
            backfill.chunks = progress.chunks
            backfill.storedThrough = max(backfill.storedThrough ?? .min, minutes.map(\.end).max() ?? .min)
            logger.info("keel_backfill_done", metadata: ["symbol": "\(symbol)", "chunks": "\(progress.chunks)", "candles": "\(minutes.count)",
                                                         "seconds": "\(progress.seconds)"])
            note(now, "backfill of \(symbol) done: \(minutes.count) minutes in \(progress.chunks) chunks, \(progress.seconds) s")
        }
    }

    func failBackfill(_ reason: String, now: Int64) {
        backfill.state = .failed
        backfill.reason = reason
        backfill.failedAt = now
        backfill.collected = []
        logger.error("keel_backfill_failed", metadata: ["symbol": "\(symbol)", "reason": "\(reason)",
                                                        "gate": "\(settings.requireBackfill ? "quoting waits (context.require_backfill)" : "open")"])
        note(now, "backfill of \(symbol) failed: \(reason)")
        reportBackfill()
    }

    /// On each tick: a failed backfill is asked again; closed live minutes are stored.
    func backfillTick(now: Int64) async {
        if backfill.state == .failed, connectorUp, let at = backfill.failedAt, now - at >= BackfillRun.retryAfter {
            await requestBackfill(now: now)
        }
        guard let storage, exchangeBacked, backfill.state == .done || backfill.state == .off else { return }
        let through = backfill.storedThrough ?? .min
        let fresh = strategy.context.candles[.m1]!.closed.reversed().prefix { $0.start >= through }
        for candle in fresh.reversed() { storage.enqueue(.candle(exchange: exchange, symbol: symbol, candle)) }
        if let last = fresh.first { backfill.storedThrough = last.end }
    }
}

import Connector
import ConnectorWire
import Foundation
import Market

/// What a bot would keep from the connector's events: every event, and a book built only from
/// `depth` events (a snapshot resets it, a delta applies).
actor BotView {
    var events: [ConnectorEvent] = []
    var book = OrderBook()
    var lastUpdateId: Int64 = 0
    var snapshots = 0
    /// Depth events that did not apply to the book held (a book the bot could not trust).
    var failedApplies = 0

    func receive(_ event: ConnectorEvent) {
        events.append(event)
        if case .depth(let depth) = event {
            if (try? book.apply(depth.update)) == nil || book.isCrossed { failedApplies += 1 }
            lastUpdateId = depth.update.lastUpdateId
            if depth.update.kind == .snapshot { snapshots += 1 }
        }
    }

    func statuses(_ kind: ConnectorEvent.StatusKind) -> [ConnectorEvent.Status] {
        events.compactMap { if case .status(let status) = $0, status.status == kind { return status } else { return nil } }
    }

    func orders(_ clientId: String) -> [OrderUpdate] {
        events.compactMap { if case .order(let order) = $0, order.clientId == clientId { return order } else { return nil } }
    }

    /// The command `id` was acked and the order's last event has `state`.
    func answered(_ id: String, _ clientId: String, state: OrderState) -> Bool {
        acks(id) == 1 && orders(clientId).last?.state == state
    }

    /// How many of these command ids have an answer (ack or error).
    func answeredCount(_ ids: [String]) -> Int {
        ids.filter { id in acks(id) > 0 || errors().contains { $0.id == id } }.count
    }

    func unknowns(_ clientId: String) -> Int {
        events.filter { if case .orderUnknown(_, let id, _) = $0, id == clientId { return true } else { return false } }.count
    }

    func acks(_ id: String) -> Int {
        events.filter { if case .ack(let ack, _) = $0, ack == id { return true } else { return false } }.count
    }

    func errors(code: String? = nil) -> [ConnectorEvent.Failure] {
        events.compactMap { if case .error(let failure) = $0, code == nil || failure.code == code { return failure } else { return nil } }
    }

    func fills(_ clientId: String) -> [Fill] {
        events.compactMap { if case .fill(let fill) = $0, fill.clientId == clientId { return fill } else { return nil } }
    }

    func positions(_ symbol: String) -> [PositionUpdate] {
        events.compactMap { if case .position(let position) = $0, position.symbol == symbol { return position } else { return nil } }
    }

    func depthEvents() -> Int { events.filter { if case .depth = $0 { return true } else { return false } }.count }
    func reconnectedWithSnapshot() -> Bool { statuses(.connected).count >= 2 && snapshots >= 2 }
    /// Connected `count` times, each time with its snapshot.
    func connected(_ count: Int) -> Bool { statuses(.connected).count == count && snapshots == count }
}

/// Runs a session for the length of `body`, its events read in order into a `BotView`, as the bot reads
/// the connector's stdout: `make` builds it around the emit closure, `run` runs it, `stop` ends it (also
/// when `body` throws), `close` releases what outlives it.
func following<Session: Sendable>(_ make: (@escaping @Sendable (ConnectorEvent) -> Void) throws -> Session,
                                  run: @escaping @Sendable (Session) async -> Void, stop: (Session) async -> Void,
                                  close: (Session) async -> Void = { _ in },
                                  _ body: (BotView, Session) async throws -> Void) async throws {
    let view = BotView()
    let (events, sink) = AsyncStream.makeStream(of: ConnectorEvent.self)
    let debug = ProcessInfo.processInfo.environment["KEEL_DEBUG"] != nil
    let reader = Task {
        for await event in events {
            if debug { print(String(decoding: event.line, as: UTF8.self)) }
            await view.receive(event)
        }
    }
    defer { reader.cancel() }
    let session = try make { sink.yield($0) }
    let running = Task { await run(session) }
    do {
        try await body(view, session)
    } catch {
        await stop(session)
        running.cancel()
        await close(session)
        throw error
    }
    await stop(session)
    _ = await running.value
    await close(session)
}

func wait(_ timeout: Duration = .seconds(30), _ condition: @Sendable () async -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return await condition()
}

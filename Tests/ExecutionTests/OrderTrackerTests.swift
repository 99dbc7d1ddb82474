import Execution
import Market
import Testing

/// The order state machine under the races a live venue produces.
struct OrderTrackerTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    private func request(_ id: String, side: Side = .buy) -> PlaceRequest {
        PlaceRequest(symbol: "BTCUSDT", side: side, type: .limit, qty: d("0.010"), price: d("50000.0"), timeInForce: .postOnly, orderLinkId: id)
    }

    private func update(_ id: String, _ state: OrderState, filled: String = "0", time: Int64 = 10) -> OrderUpdate {
        OrderUpdate(symbol: "BTCUSDT", orderId: "ex-\(id)", clientId: id, side: .buy, orderType: "Limit", timeInForce: "PostOnly",
                    price: d("50000.0"), qty: d("0.010"), filledQty: d(filled), averagePrice: filled == "0" ? nil : d("50000.0"), state: state,
                    reduceOnly: false, rejectReason: state == .rejected ? "EC_PostOnlyWillTakeLiquidity" : "",
                    cancelType: state == .cancelled ? "CancelByUser" : "", createdTime: 1, updatedTime: time)
    }

    private func fill(_ id: String, exec: String, qty: String, leaves: String, time: Int64 = 10) -> Fill {
        Fill(symbol: "BTCUSDT", orderId: "ex-\(id)", clientId: id, executionId: exec, side: .buy, price: d("50000.0"), qty: d(qty),
             fee: d("0.1"), feeRate: d("0.0002"), isMaker: true, leavesQty: d(leaves), closedSize: .zero, time: time)
    }

    @Test func theHappyPath() {
        var tracker = OrderTracker()
        #expect(tracker.submitted(request("a"), time: 1).status == .pendingNew)
        #expect(tracker.acknowledged("a", command: .place, time: 2)?.status == .new)
        #expect(tracker.apply(update("a", .new), time: 3) == .updated(tracker["a"]!))
        #expect(tracker.apply(fill("a", exec: "e1", qty: "0.004", leaves: "0.006")) == .counted(tracker["a"]))
        #expect(tracker["a"]?.status == .partiallyFilled && tracker["a"]?.filledQty == d("0.004"))
        _ = tracker.apply(update("a", .filled, filled: "0.010", time: 12), time: 12)
        #expect(tracker["a"]?.status == .filled && tracker.live().isEmpty)
    }

    @Test func aFillRacingTheCancelWins() {
        var tracker = OrderTracker()
        tracker.submitted(request("a"), time: 1)
        _ = tracker.apply(update("a", .new, time: 2), time: 2)
        let cancelling = tracker.cancelRequested("a", time: 3)
        #expect(cancelling)
        #expect(tracker["a"]?.status == .pendingCancel)
        // A partial fill arrives while the cancel is in flight: still pending cancel, the fill counted.
        _ = tracker.apply(update("a", .partiallyFilled, filled: "0.004", time: 4), time: 4)
        #expect(tracker["a"]?.status == .pendingCancel && tracker["a"]?.filledQty == d("0.004"))
        #expect(tracker.live(side: .buy).count == 1, "a cancel in flight still counts against the side's limit")
        // The rest fills before the cancel lands: Filled wins; the cancel's refusal changes nothing.
        _ = tracker.apply(update("a", .filled, filled: "0.010", time: 5), time: 5)
        _ = tracker.refused("a", command: .cancel, reason: "order not found", time: 6)
        #expect(tracker["a"]?.status == .filled)
        // And a late "Cancelled" for a filled order is ignored.
        if case .ignored = tracker.apply(update("a", .cancelled, time: 7), time: 7) {} else { Issue.record("a terminal order moved") }
        #expect(tracker["a"]?.status == .filled)
    }

    @Test func twoFilledReportsAndDuplicateExecutionsCountOnce() {
        var tracker = OrderTracker()
        tracker.submitted(request("a"), time: 1)
        #expect(tracker.apply(fill("a", exec: "e1", qty: "0.010", leaves: "0")) == .counted(tracker["a"]))
        #expect(tracker.apply(fill("a", exec: "e1", qty: "0.010", leaves: "0")) == .duplicate)
        _ = tracker.apply(update("a", .filled, filled: "0.010", time: 11), time: 11)
        if case .ignored = tracker.apply(update("a", .filled, filled: "0.010", time: 12), time: 12) {} else { Issue.record("second Filled applied") }
        #expect(tracker["a"]?.filledQty == d("0.010"))
    }

    /// The last `rememberedExecutions` ids are duplicates, whatever the number of fills before them; older
    /// ones are forgotten, oldest first, across the bulk cuts of the id list.
    @Test func remembersTheLastExecutionsAndForgetsTheOldestFirst() {
        var tracker = OrderTracker(rememberedExecutions: 4)
        tracker.submitted(request("a"), time: 1)
        for n in 1...23 {
            #expect(tracker.apply(fill("a", exec: "e\(n)", qty: "0.0001", leaves: "0.009")) != .duplicate, "e\(n)")
        }
        for n in 20...23 { #expect(tracker.apply(fill("a", exec: "e\(n)", qty: "0.0001", leaves: "0.009")) == .duplicate, "e\(n)") }
        // e19 was forgotten: counted again, which forgets e20 (the oldest remembered).
        #expect(tracker.apply(fill("a", exec: "e19", qty: "0.0001", leaves: "0.009")) != .duplicate)
        #expect(tracker.apply(fill("a", exec: "e21", qty: "0.0001", leaves: "0.009")) == .duplicate)
        #expect(tracker.apply(fill("a", exec: "e20", qty: "0.0001", leaves: "0.009")) != .duplicate)
    }

    @Test func anAckAfterTheFillChangesNothing() {
        var tracker = OrderTracker()
        tracker.submitted(request("a"), time: 1)
        _ = tracker.apply(update("a", .filled, filled: "0.010", time: 2), time: 2)
        #expect(tracker.acknowledged("a", command: .place, time: 3)?.status == .filled)
    }

    @Test func unknownIsResolvedOnlyByTheVenuesTruth() {
        var tracker = OrderTracker()
        tracker.submitted(request("a"), time: 1)
        tracker.submitted(request("b"), time: 1)
        #expect(tracker.markUnknown("a", reason: "no ack in 0.3 s", time: 2)?.status == .unknown)
        #expect(tracker.markUnknown("b", reason: "connection lost", time: 2)?.status == .unknown)
        #expect(tracker.live().count == 2, "unknown orders count as live")
        // The venue says a is working; b never arrived.
        _ = tracker.apply(update("a", .new, time: 3), time: 3)
        #expect(tracker["a"]?.status == .new)
        #expect(tracker.refused("b", command: .place, reason: "order_not_found", time: 3)?.status == .rejected)
        // A cancel on an unknown order keeps it unknown until the truth arrives.
        tracker.submitted(request("c"), time: 4)
        _ = tracker.markUnknown("c", reason: "timeout", time: 5)
        let cancellingUnknown = tracker.cancelRequested("c", time: 6)
        #expect(cancellingUnknown)
        #expect(tracker["c"]?.status == .unknown)
        _ = tracker.apply(update("c", .cancelled, time: 7), time: 7)
        #expect(tracker["c"]?.status == .cancelled)
    }

    @Test func rejectionsOlderUpdatesAndForeignOrders() {
        var tracker = OrderTracker()
        tracker.submitted(request("a"), time: 1)
        _ = tracker.apply(update("a", .rejected, time: 2), time: 2)
        #expect(tracker["a"]?.status == .rejected && tracker["a"]?.reason == "EC_PostOnlyWillTakeLiquidity")
        tracker.submitted(request("b"), time: 1)
        _ = tracker.apply(update("b", .partiallyFilled, filled: "0.004", time: 20), time: 20)
        if case .ignored = tracker.apply(update("b", .new, time: 15), time: 21) {} else { Issue.record("an older update applied") }
        #expect(tracker["b"]?.status == .partiallyFilled)
        if case .foreign(let order) = tracker.apply(update("zzz", .new), time: 3) { #expect(order.clientId == "zzz") } else { Issue.record("foreign not reported") }
    }

    /// A cancel sent before the placement was answered, then the placement refused (a post-only order that
    /// would take): the order never existed, so it is rejected — not left pending_cancel for good. A placement
    /// refused after the venue reported the order (a duplicate id) changes nothing.
    @Test func aPlacementRefusedWhileItsCancelIsInFlightEndsTheOrder() {
        var tracker = OrderTracker()
        tracker.submitted(request("d"), time: 1)
        let cancelling = tracker.cancelRequested("d", time: 2)
        #expect(cancelling)
        _ = tracker.refused("d", command: .place, reason: "post-only order would take liquidity", time: 3)
        #expect(tracker["d"]?.status == .rejected)
        #expect(tracker.live().isEmpty)
        tracker.submitted(request("e"), time: 1)
        _ = tracker.apply(update("e", .new, time: 2), time: 2)
        _ = tracker.cancelRequested("e", time: 3)
        _ = tracker.refused("e", command: .place, reason: "duplicate", time: 4)
        #expect(tracker["e"]?.status == .pendingCancel)
    }

    /// Our own stamps are on our clock; the venue's on its own. A cancel requested at our 1,000 and
    /// answered by a venue whose clock reads 990 is the answer, not a stale update (once it was ignored and
    /// the order stayed pending_cancel for good — found by a soak).
    @Test func aVenueClockBehindOursNeverStrandsACancel() {
        var tracker = OrderTracker()
        tracker.submitted(request("c"), time: 900)
        _ = tracker.apply(update("c", .new, time: 950), time: 960)
        let requested = tracker.cancelRequested("c", time: 1_000)
        #expect(requested)
        let change = tracker.apply(update("c", .cancelled, time: 990), time: 1_001)
        #expect(tracker["c"]?.status == .cancelled, "\(change)")
        #expect(tracker.live().isEmpty)
    }
}

/// Position, entry, PnL and round trips, exactly.
struct PositionLedgerTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    private func fill(_ side: Side, _ qty: String, at price: String, fee: String = "0") -> Fill {
        Fill(symbol: "BTCUSDT", orderId: "o", clientId: "c", executionId: "\(side)-\(qty)-\(price)", side: side, price: d(price), qty: d(qty),
             fee: d(fee), feeRate: .zero, isMaker: true, leavesQty: .zero, closedSize: .zero, time: 0)
    }

    @Test func averageEntryRealisedPnlAndRoundTrips() {
        var ledger = PositionLedger()
        #expect(ledger.apply(fill(.buy, "0.010", at: "50000.0", fee: "0.1")) == nil)
        #expect(ledger.apply(fill(.buy, "0.030", at: "50100.0", fee: "0.3")) == nil)
        // (0.01·50000 + 0.03·50100) / 0.04 = 50075
        #expect(ledger.position == d("0.040") && ledger.averageEntry == d("50075"))
        #expect(ledger.unrealisedPnl(mark: d("50175.0")) == d("4"))
        // Sell 0.02 at 50,000: −75 × 0.02 = −1.5 realised.
        #expect(ledger.apply(fill(.sell, "0.020", at: "50000.0", fee: "0.2")) == nil)
        #expect(ledger.realisedPnl == d("-1.5"))
        // Flip: sell 0.03 at 50,200 closes 0.02 (+125 × 0.02 = +2.5), opens short 0.01 at 50,200.
        let trip = ledger.apply(fill(.sell, "0.030", at: "50200.0", fee: "0.3"))
        #expect(trip == d("1.0") - d("0.9"))   // realised 1.0, fees 0.1+0.3+0.2+0.3
        #expect(ledger.position == d("-0.010") && ledger.averageEntry == d("50200.0"))
        #expect(ledger.roundTrips == 1 && ledger.losingRoundTrips == 0)
        // Buy back higher: a losing round trip.
        let losing = ledger.apply(fill(.buy, "0.010", at: "50300.0"))
        #expect(losing == d("-1"))
        #expect(ledger.position.isZero && ledger.averageEntry == nil && ledger.losingRoundTrips == 1)
        #expect(ledger.netPnl(mark: nil) == d("1.0") - d("1") - d("0.9"))
    }

    /// A long run of fills on one side: the average entry keeps the price's decimals + 6, however many blends
    /// (its scale once grew with every fill until `entry × size` overflowed and trapped the bot).
    @Test func theAverageEntryKeepsABoundedScaleOverManyFills() {
        var ledger = PositionLedger()
        for i in 0..<2_000 {
            let price = "\(60_000 + (i * 7919) % 997).\(i % 10)"
            ledger.apply(fill(.buy, "0.001", at: price))
            #expect((ledger.averageEntry?.scale ?? 0) <= 1 + PositionLedger.entryScale)
        }
        #expect(ledger.position == d("2.000"))
        let entry = ledger.averageEntry!.doubleValue
        #expect(entry > 60_000 && entry < 61_000)
        #expect(ledger.unrealisedPnl(mark: d("60500.0")) != .zero)
        // And selling it all back, one fill at a time, still adds up.
        for _ in 0..<2_000 { ledger.apply(fill(.sell, "0.001", at: "60500.0")) }
        #expect(ledger.position.isZero && ledger.roundTrips == 1)
    }
}

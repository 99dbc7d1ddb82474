import Market
import Strategy
import Testing

/// Every transition of the risk manager, with its reasons.
struct RiskManagerTests {
    private func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }

    private func limits() -> RiskManager.Limits {
        var limits = RiskManager.Limits()
        limits.maxPosition = d("0.05")
        limits.maxNotional = d("3000")
        limits.maxDrawdown = d("50")
        limits.maxLoss = d("80")
        limits.maxConsecutiveLosses = 3
        return limits
    }

    private func facts(_ position: String = "0", mark: String = "50000", pnl: String = "0") -> RiskManager.Facts {
        RiskManager.Facts(position: d(position), markPrice: d(mark), pnl: d(pnl))
    }

    @Test func reducingPastThePositionLimitsAndBack() {
        var risk = RiskManager(limits: limits())
        #expect(risk.evaluate(facts("0.01"), time: 1) == nil)
        #expect(risk.allowedSides(position: d("0.01")) == [.buy, .sell])
        // 0.06 > 0.05 and 0.06 × 50,000 = 3,000 is not above 3,000: one reason.
        let over = risk.evaluate(facts("0.06"), time: 2)
        #expect(over?.from == .active && over?.to == .reducing)
        #expect(over?.reasons == ["position 0.06 beyond max_position 0.05"])
        #expect(risk.allowedSides(position: d("0.06")) == [.sell])
        #expect(risk.allowedSides(position: d("-0.06")) == [.buy])
        // Notional alone: 0.04 × 80,000 = 3,200.
        _ = risk.evaluate(facts("0.04", mark: "80000"), time: 3)
        #expect(risk.state == .reducing && risk.reasons.first?.hasPrefix("notional") == true)
        let back = risk.evaluate(facts("0.04"), time: 4)
        #expect(back?.to == .active && back?.reasons == [])
    }

    @Test func conditionsHaltOnlyWhileTheyLast() {
        var risk = RiskManager(limits: limits())
        var stale = facts()
        stale.feedStale = true
        stale.bookValid = false
        let halted = risk.evaluate(stale, time: 1)
        #expect(halted?.to == .halted && halted?.reasons == ["feed stale", "book invalid"])
        #expect(risk.allowedSides(position: .zero).isEmpty)
        var down = facts()
        down.connectorUp = false
        down.ready = false
        #expect(risk.evaluate(down, time: 2)?.reasons == ["connector down", "bot not ready"])
        #expect(risk.evaluate(facts(), time: 3)?.to == .active)
    }

    @Test func theKillSwitchLatchesUntilResumed() {
        var risk = RiskManager(limits: limits())
        _ = risk.evaluate(facts(pnl: "30"), time: 1)   // the peak
        #expect(risk.evaluate(facts(pnl: "-10"), time: 2) == nil)   // 40 from the peak: still fine
        let killed = risk.evaluate(facts(pnl: "-20"), time: 3)
        #expect(killed?.to == .halted)
        #expect(killed?.reasons == ["kill switch: loss from peak 50 ≥ max_drawdown 50"])
        // PnL recovers: still halted (latched).
        #expect(risk.evaluate(facts(pnl: "100"), time: 4) == nil)
        #expect(risk.state == .halted)
        let resumed = risk.resume(time: 5)
        #expect(resumed?.to == .active)
        // Absolute loss: 80 below zero.
        var fresh = RiskManager(limits: limits())
        #expect(fresh.evaluate(facts(pnl: "-79"), time: 1)?.reasons.first?.hasPrefix("kill switch: loss from peak") == true)
        var noKill = limits()
        noKill.enableKillSwitch = false
        var off = RiskManager(limits: noKill)
        #expect(off.evaluate(facts(pnl: "-500"), time: 1) == nil)
    }

    @Test func consecutiveLosingRoundTripsHalt() {
        var risk = RiskManager(limits: limits())
        risk.roundTripClosed(pnl: d("-1"))
        risk.roundTripClosed(pnl: d("-1"))
        risk.roundTripClosed(pnl: d("0.5"))   // a win resets the count
        #expect(risk.consecutiveLosses == 0)
        risk.roundTripClosed(pnl: d("-1"))
        risk.roundTripClosed(pnl: d("0"))     // break-even is not a loss
        #expect(risk.consecutiveLosses == 0)
        for _ in 0 ..< 3 { risk.roundTripClosed(pnl: d("-0.1")) }
        let halted = risk.evaluate(facts(), time: 1)
        #expect(halted?.to == .halted)
        #expect(halted?.reasons == ["3 consecutive losing round trips ≥ max_consecutive_losses 3"])
        // A fourth loss (a fill that raced the cancels) does not add a second streak reason.
        risk.roundTripClosed(pnl: d("-0.1"))
        #expect(risk.evaluate(facts(), time: 1) == nil)
        #expect(risk.reasons == ["3 consecutive losing round trips ≥ max_consecutive_losses 3"])
        #expect(risk.resume(time: 2)?.to == .active)
        #expect(risk.consecutiveLosses == 0)
    }

    @Test func aManualHaltHoldsOverEverything() {
        var risk = RiskManager(limits: limits())
        _ = risk.evaluate(facts("0.06"), time: 1)
        #expect(risk.halt("operator: POST /strategy/halt", time: 2)?.to == .halted)
        #expect(risk.evaluate(facts(), time: 3) == nil)
        #expect(risk.state == .halted)
        #expect(risk.resume(time: 4)?.to == .active)
    }
}

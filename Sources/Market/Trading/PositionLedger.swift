/// Position, average entry, realised PnL, fees and round trips of one symbol, from fills, exactly.
/// A round trip runs from flat back to flat (or to a flip, whose remainder opens the next one); its
/// PnL is the realised PnL minus the fees paid during it. Pure.
public struct PositionLedger: Sendable, Equatable {
    /// Signed: long above zero.
    public private(set) var position: Quantity = .zero
    public private(set) var averageEntry: Price?
    /// Gross realised PnL, quote currency.
    public private(set) var realisedPnl: FixedDecimal = .zero
    /// Fees paid (negative when rebates were earned).
    public private(set) var fees: FixedDecimal = .zero
    public private(set) var roundTrips = 0
    public private(set) var losingRoundTrips = 0
    public private(set) var fills = 0
    public private(set) var volume: Quantity = .zero
    private var tripPnl: FixedDecimal = .zero

    /// The average entry's decimals beyond the price's own.
    public static let entryScale: UInt8 = 6

    public init() {}

    /// Starts from a known position (loaded from the exchange at start).
    public init(position: Quantity, averageEntry: Price?) {
        self.position = position
        self.averageEntry = position.isZero ? nil : averageEntry
    }

    /// Applies one execution; returns the PnL of a round trip it closed.
    @discardableResult
    public mutating func apply(_ fill: Fill) -> FixedDecimal? {
        fills += 1
        volume += fill.qty
        fees += fill.fee
        tripPnl -= fill.fee
        let signed = fill.side == .buy ? fill.qty : -fill.qty
        var closedTrip: FixedDecimal?
        if position.isZero || position.signum == signed.signum {
            averageEntry = blend(entry: averageEntry, size: abs(position), price: fill.price, qty: fill.qty)
            position += signed
            return nil
        }
        // Reducing, closing or flipping.
        let closing = min(abs(position), fill.qty)
        if let entry = averageEntry {
            let perUnit = position.isNegative ? entry - fill.price : fill.price - entry
            let pnl = perUnit * closing
            realisedPnl += pnl
            tripPnl += pnl
        }
        position += signed
        if position.isZero || position.signum == signed.signum {
            roundTrips += 1
            if tripPnl < .zero { losingRoundTrips += 1 }
            closedTrip = tripPnl
            tripPnl = .zero
            averageEntry = position.isZero ? nil : fill.price
        }
        return closedTrip
    }

    /// Unrealised PnL at `mark`.
    public func unrealisedPnl(mark: Price?) -> FixedDecimal {
        guard let mark, let entry = averageEntry, !position.isZero else { return .zero }
        return (mark - entry) * position
    }

    /// Realised − fees + unrealised.
    public func netPnl(mark: Price?) -> FixedDecimal { realisedPnl - fees + unrealisedPnl(mark: mark) }

    private func abs(_ value: Quantity) -> Quantity { value.isNegative ? -value : value }

    private func blend(entry: Price?, size: Quantity, price: Price, qty: Quantity) -> Price {
        guard let entry, !size.isZero else { return price }
        // The price's decimals + `entryScale`, never the entry's own: growing from the last average, the scale
        // compounded over a run of fills until `entry * size` overflowed (found by a soak after ~300 fills).
        let scale = min(FixedDecimal.maxScale, price.scale + PositionLedger.entryScale)
        let total = entry * size + price * qty
        return total.divided(by: size + qty, scale: scale, rounding: .halfEven)?.normalized ?? price
    }
}

import Market

/// Volume by price row: rows of `rowTicks` ticks, each labelled by its lowest price. Pure.
///
/// - POC: the row with the most volume; ties go to the row nearest the reference price (the session
///   VWAP), then to the lower price.
/// - Value area: from the POC, one row at a time toward the side whose next row holds more volume (a
///   row without trades holds zero); on a tie both next rows are taken; until the area holds at least
///   `valueArea` of all volume. VAL is the lowest row's price, VAH the highest row's.
public struct VolumeProfile: Sendable, Equatable {
    public let rowSize: Price
    public private(set) var rows: [Int64: Quantity] = [:]
    public private(set) var total: Quantity = .zero

    public init(tickSize: Price, rowTicks: Int) {
        rowSize = tickSize * FixedDecimal(rowTicks)
    }

    public func row(of price: Price) -> Int64 { price.flooredQuotient(rowSize) ?? 0 }

    public func price(ofRow row: Int64) -> Price { rowSize * FixedDecimal(Int(row)) }

    public mutating func add(price: Price, qty: Quantity) {
        add(row: row(of: price), qty: qty)
    }

    /// `qty` in `row` (`row(of:)` of its price: profiles of one row size share it).
    public mutating func add(row: Int64, qty: Quantity) {
        rows[row, default: .zero] += qty
        total += qty
    }

    public mutating func remove(_ other: VolumeProfile) {
        for (row, qty) in other.rows {
            let left = (rows[row] ?? .zero) - qty
            rows[row] = left.signum > 0 ? left : nil
        }
        total -= other.total
    }

    public mutating func merge(_ other: VolumeProfile) {
        for (row, qty) in other.rows { rows[row, default: .zero] += qty }
        total += other.total
    }

    public struct Levels: Sendable, Equatable {
        public var poc: Price
        public var vah: Price
        public var val: Price
    }

    /// POC, VAH and VAL; nil without volume.
    public func levels(valueArea: Double, reference: Price?) -> Levels? {
        guard total.signum > 0, let low = rows.keys.min(), let high = rows.keys.max() else { return nil }
        let best = rows.values.max()!
        let candidates = rows.filter { $0.value == best }.keys.sorted()
        var poc = candidates[0]
        if let reference, candidates.count > 1 {
            func distance(_ row: Int64) -> FixedDecimal {
                let middle = price(ofRow: row) + (rowSize.divided(by: FixedDecimal(2), scale: min(rowSize.scale + 1, 18)) ?? .zero)
                let gap = middle - reference
                return gap.signum < 0 ? -gap : gap
            }
            poc = candidates.min { distance($0) < distance($1) || (distance($0) == distance($1) && $0 < $1) }!
        }
        let target = total.doubleValue * valueArea
        var area = rows[poc]!.doubleValue
        var top = poc
        var bottom = poc
        while area < target && (top < high || bottom > low) {
            let up = top < high ? (rows[top + 1] ?? .zero) : nil
            let down = bottom > low ? (rows[bottom - 1] ?? .zero) : nil
            switch (up, down) {
            case let (up?, down?) where up == down:
                top += 1
                bottom -= 1
                area += up.doubleValue + down.doubleValue
            case let (up?, down?):
                if up > down { top += 1; area += up.doubleValue } else { bottom -= 1; area += down.doubleValue }
            case let (up?, nil):
                top += 1
                area += up.doubleValue
            case let (nil, down?):
                bottom -= 1
                area += down.doubleValue
            case (nil, nil):
                break
            }
        }
        return Levels(poc: price(ofRow: poc), vah: price(ofRow: top), val: price(ofRow: bottom))
    }
}

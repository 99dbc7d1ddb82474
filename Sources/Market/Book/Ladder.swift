/// One side of the book, keys ascending so the best level is the highest key (asks are stored negated).
///
/// The levels near the touch live in a dense window: `windowSlots` slots, one per step of the price
/// grid, from `lo` up, with a bitmap of the occupied ones. A change there is an index computation and
/// one store — no search, no shifting — which is where most of a feed's changes land. Levels below the
/// window live in `tail`, a `SparseLadder` (B+tree). Nothing is ever above the window: a better price
/// moves it up, spilling its lowest slots into the tail; a touch that falls far into the window (or
/// below it) moves it down, taking the tail's best levels back in.
///
/// The grid step is learnt from the keys: the largest power of ten dividing the first one, then the
/// greatest common divisor of the distances seen, so a key off the grid re-lays the window on a finer
/// one. Invariants: every tail key is below `lo`; every window key is `lo + slot × step` with
/// `slot < windowSlots`; `bestSlot` is the highest occupied slot (−1 when the window is empty).
@usableFromInline
struct Ladder: Sendable {
    @usableFromInline static let windowSlots = 4_096
    /// Slots kept free above the touch when the window moves: a rising price moves it once per this many steps.
    @usableFromInline static let headroom = 1_024
    /// The touch falling below this slot moves the window down.
    @usableFromInline static let lowWater = 1_024

    /// Window sizes (zero = empty slot); allocated when the first level comes.
    @usableFromInline var slots: [Quantity] = []
    @usableFromInline var occupied: [UInt64] = []
    @usableFromInline var lo: Int64 = 0
    /// Key distance between slots; 0 until the first level places the window.
    @usableFromInline var step: Int64 = 0
    /// `windowSlots × step`: the keys the window spans.
    @usableFromInline var span: Int64 = 0
    @usableFromInline var windowCount = 0
    @usableFromInline var bestSlot = -1
    @usableFromInline var tail = SparseLadder()

    @usableFromInline init() {}

    var count: Int { windowCount &+ tail.count }

    @inlinable
    func key(ofSlot slot: Int) -> Int64 { lo &+ Int64(slot) &* step }

    var bestKey: Int64? { windowCount > 0 ? key(ofSlot: bestSlot) : tail.bestKey }

    var bestSize: Quantity? { windowCount > 0 ? slots[bestSlot] : tail.bestSize }

    var worstKey: Int64? {
        if let worst = tail.worstKey { return worst }
        guard windowCount > 0 else { return nil }
        var slot = 0
        while !isOccupied(slot) { slot &+= 1 }
        return key(ofSlot: slot)
    }

    // MARK: Changes

    /// Sets the size at `key`; zero deletes (absent is fine).
    @inlinable
    mutating func set(key: Int64, qty: Quantity) {
        if step == 0 {
            guard qty.mantissa != 0 else { return }
            place(step: Ladder.initialStep(for: key), best: key)
        }
        let distance = key &- lo
        if distance < 0 {
            tail.set(key: key, qty: qty)
            return
        }
        guard distance < span else {
            // Above the window: nothing to delete, or a new best the window moves up to.
            guard qty.mantissa != 0 else { return }
            if distance % step != 0 { regrid(adding: [key]) }
            moveWindow(best: key)
            set(key: key, qty: qty)
            return
        }
        let (slot, remainder) = distance.quotientAndRemainder(dividingBy: step)
        guard remainder == 0 else {
            // Off the grid: not in the window, so only a new level matters.
            guard qty.mantissa != 0 else { return }
            regrid(adding: [key])
            set(key: key, qty: qty)
            return
        }
        setSlot(Int(slot), qty)
    }

    @inlinable
    mutating func setSlot(_ slot: Int, _ qty: Quantity) {
        let was = slots[slot].mantissa != 0
        if qty.mantissa != 0 {
            slots[slot] = qty
            guard !was else { return }
            occupied[slot &>> 6] |= 1 &<< UInt64(slot & 63)
            windowCount &+= 1
            if slot > bestSlot { bestSlot = slot }
            return
        }
        guard was else { return }
        vacate(slot)
        if slot == bestSlot { bestRemoved(from: slot) }
    }

    /// Empties an occupied slot (the best slot is the caller's to mend).
    @inlinable
    mutating func vacate(_ slot: Int) {
        slots[slot] = .zero
        occupied[slot &>> 6] &= ~(1 &<< UInt64(slot & 63))
        windowCount &-= 1
    }

    /// The best level left its slot: the next one down is the best, and when that fell deep into the
    /// window, or out of it, the window follows it down.
    @usableFromInline
    mutating func bestRemoved(from slot: Int) {
        bestSlot = highestOccupied(atOrBelow: slot &- 1)
        if bestSlot < Ladder.lowWater, tail.count > 0 { moveWindow(best: windowCount > 0 ? key(ofSlot: bestSlot) : tail.bestKey!) }
    }

    mutating func removeAll() {
        if windowCount > 0 {
            var slot = bestSlot
            while slot >= 0 {
                slots[slot] = .zero
                slot = highestOccupied(atOrBelow: slot &- 1)
            }
            for word in occupied.indices { occupied[word] = 0 }
        }
        windowCount = 0
        bestSlot = -1
        tail.removeAll()
    }

    mutating func rebuild(from levels: [PriceLevel], scale: UInt8, negate: Bool) throws(BookError) {
        let pairs = try SparseLadder.sortedPairs(from: levels, scale: scale, negate: negate)
        lay(pairs)
    }

    /// Replaces the levels with `pairs` (ascending, unique keys): the window on their grid, under the best.
    mutating func lay(_ pairs: [(key: Int64, qty: Quantity)]) {
        removeAll()
        guard let best = pairs.last?.key else { return }
        var grid = step == 0 ? Ladder.initialStep(for: best) : step
        for pair in pairs { grid = Ladder.gcd(grid, (best &- pair.key).magnitude) }
        place(step: grid, best: best)
        var first = pairs.endIndex
        while first > pairs.startIndex, pairs[first &- 1].key >= lo { first &-= 1 }
        tail.rebuild(sorted: pairs[..<first])
        for pair in pairs[first...] { setSlot(Int((pair.key &- lo) / step), pair.qty) }
    }

    mutating func keepBest(_ depth: Int) {
        let depth = Swift.max(depth, 0)
        guard count > depth else { return }
        if windowCount > depth {
            // The depth-th level is in the window: everything below it goes, the tail whole.
            var slot = bestSlot
            for _ in 1..<Swift.max(depth, 1) { slot = highestOccupied(atOrBelow: slot &- 1) }
            var below = depth == 0 ? slot : highestOccupied(atOrBelow: slot &- 1)
            while below >= 0 {
                vacate(below)
                below = highestOccupied(atOrBelow: below &- 1)
            }
            if windowCount == 0 { bestSlot = -1 }
            tail.removeAll()
        } else {
            tail.keepBest(depth &- windowCount)
        }
    }

    func canMultiplyKeys(by factor: Int64) -> Bool {
        guard tail.canMultiplyKeys(by: factor) else { return false }
        return step == 0 || SparseLadder.fits(lo, times: factor) && SparseLadder.fits(key(ofSlot: Ladder.windowSlots), times: factor)
    }

    /// Every key × `factor` (the book's grid got finer): the window keeps its slots on a wider step.
    mutating func multiplyKeys(by factor: Int64) {
        tail.multiplyKeys(by: factor)
        guard step != 0 else { return }
        lo &*= factor
        step &*= factor
        span = Int64(Ladder.windowSlots) &* step
    }

    // MARK: Reading

    func size(at key: Int64) -> Quantity? {
        guard step != 0 else { return nil }
        let distance = key &- lo
        if distance < 0 { return tail.size(at: key) }
        guard distance < span, distance % step == 0 else { return nil }
        let size = slots[Int(distance / step)]
        return size.mantissa == 0 ? nil : size
    }

    /// Visits levels from the best outwards until `body` returns false.
    func forEachFromBest(_ body: (Int64, Quantity) -> Bool) {
        var slot = bestSlot
        while slot >= 0 {
            guard body(key(ofSlot: slot), slots[slot]) else { return }
            slot = highestOccupied(atOrBelow: slot &- 1)
        }
        tail.forEachFromBest(body)
    }

    func totalSize(best depth: Int) -> Quantity {
        var total = Quantity.zero
        var taken = 0
        forEachFromBest { _, size in
            guard taken < depth else { return false }
            total += size
            taken += 1
            return true
        }
        return total
    }

    /// The best `limit` levels, best first, into `keys` and `sizes` (their storage reused); `negate`
    /// turns the asks' stored keys back into prices.
    func copyBest(_ limit: Int, negate: Bool, keys outKeys: inout [Int64], sizes outSizes: inout [Quantity]) {
        let n = Swift.min(Swift.max(limit, 0), count)
        // Sized once, then written through pointers: an append per level checks the array each time.
        if outKeys.count != n {
            outKeys = Array(repeating: 0, count: n)
            outSizes = Array(repeating: .zero, count: n)
        }
        let sign: Int64 = negate ? -1 : 1
        var written = 0
        outKeys.withUnsafeMutableBufferPointer { outKeys in
            outSizes.withUnsafeMutableBufferPointer { outSizes in
                slots.withUnsafeBufferPointer { slots in
                    occupied.withUnsafeBufferPointer { occupied in
                        // Word by word down the bitmap, each occupied slot taken off its word's top.
                        var word = bestSlot &>> 6
                        while word >= 0, written < n {
                            var bits = occupied[word]
                            while bits != 0, written < n {
                                let bit = 63 &- bits.leadingZeroBitCount
                                bits &= ~(1 &<< UInt64(bit))
                                let slot = word &<< 6 &+ bit
                                outKeys[written] = sign &* key(ofSlot: slot)
                                outSizes[written] = slots[slot]
                                written &+= 1
                            }
                            word &-= 1
                        }
                    }
                }
                if written < n { tail.copyBest(sign: sign, keys: outKeys, sizes: outSizes, from: written) }
            }
        }
    }

    /// The best levels down to `bound` (a stored key: every level at it or better), the best at least and
    /// at most `limit`, into `keys` and `sizes` (their storage reused); true when levels past `bound` were
    /// left out.
    func copyBest(_ limit: Int, through bound: Int64, negate: Bool, keys outKeys: inout [Int64], sizes outSizes: inout [Quantity]) -> Bool {
        outKeys.removeAll(keepingCapacity: true)
        outSizes.removeAll(keepingCapacity: true)
        let sign: Int64 = negate ? -1 : 1
        let limit = Swift.max(limit, 0)
        var cut = false
        forEachFromBest { key, size in
            guard outKeys.count < limit else { return false }
            guard outKeys.isEmpty || key >= bound else {
                cut = true
                return false
            }
            outKeys.append(sign &* key)
            outSizes.append(size)
            return true
        }
        return cut
    }

    // MARK: The window

    @inlinable
    func isOccupied(_ slot: Int) -> Bool { occupied[slot &>> 6] & (1 &<< UInt64(slot & 63)) != 0 }

    /// The highest occupied slot at or below `slot`, or −1.
    @inlinable
    func highestOccupied(atOrBelow slot: Int) -> Int {
        guard slot >= 0 else { return -1 }
        return occupied.withUnsafeBufferPointer { words in
            var word = slot &>> 6
            // Bits above `slot` in its word are masked off.
            var bits = words[word] & (UInt64.max &>> UInt64(63 &- (slot & 63)))
            while bits == 0 {
                word &-= 1
                guard word >= 0 else { return -1 }
                bits = words[word]
            }
            return word &<< 6 &+ (63 &- bits.leadingZeroBitCount)
        }
    }

    /// The first window, `best` in the slot `headroom` below the top.
    @usableFromInline
    mutating func place(step grid: Int64, best: Int64) {
        if slots.isEmpty {
            slots = Array(repeating: .zero, count: Ladder.windowSlots)
            occupied = Array(repeating: 0, count: Ladder.windowSlots / 64)
        }
        step = grid
        span = Int64(Ladder.windowSlots) &* grid
        lo = best &- Int64(Ladder.windowSlots &- Ladder.headroom &- 1) &* grid
    }

    /// Moves the window so `best` sits `headroom` below its top: window levels now below it go to the
    /// tail, tail levels now inside it come in. `best` must be on the grid.
    @usableFromInline
    mutating func moveWindow(best: Int64) {
        let newLo = best &- Int64(Ladder.windowSlots &- Ladder.headroom &- 1) &* step
        let shift = (newLo &- lo) / step
        if shift > 0 {
            // Up: the lowest `shift` slots spill into the tail, in ascending order (each lands on the tail's top).
            var slot = 0
            let spillEnd = Int(Swift.min(shift, Int64(Ladder.windowSlots)))
            while slot < spillEnd {
                if isOccupied(slot) { tail.set(key: key(ofSlot: slot), qty: slots[slot]) }
                slot &+= 1
            }
            shiftSlots(down: spillEnd)
        } else if shift < 0 {
            // Down: the slots move up (the top ones are empty, the touch being below them).
            shiftSlots(up: Int(Swift.min(-shift, Int64(Ladder.windowSlots))))
        }
        lo = newLo
        // Tail levels at or above the new bottom come into the window.
        var offGrid: [(key: Int64, qty: Quantity)] = []
        while let top = tail.bestKey, top >= lo {
            let level = tail.popBest()!
            let distance = level.key &- lo
            if distance % step == 0 { setSlot(Int(distance / step), level.qty) } else { offGrid.append(level) }
        }
        if !offGrid.isEmpty {
            regrid(adding: offGrid.map(\.key))
            for level in offGrid { set(key: level.key, qty: level.qty) }
        }
    }

    /// Slots `shift...` move to `0...`; the top `shift` are emptied.
    @usableFromInline
    mutating func shiftSlots(down shift: Int) {
        let n = Ladder.windowSlots
        slots.withUnsafeMutableBufferPointer { slots in
            for slot in 0..<n { slots[slot] = slot &+ shift < n ? slots[slot &+ shift] : .zero }
        }
        recount()
    }

    /// Slots `0...` move to `shift...`; the bottom `shift` are emptied.
    @usableFromInline
    mutating func shiftSlots(up shift: Int) {
        slots.withUnsafeMutableBufferPointer { slots in
            for slot in stride(from: slots.count &- 1, through: 0, by: -1) { slots[slot] = slot >= shift ? slots[slot &- shift] : .zero }
        }
        recount()
    }

    /// The bitmap, count and best slot again from the slots.
    @usableFromInline
    mutating func recount() {
        windowCount = 0
        bestSlot = -1
        for word in occupied.indices { occupied[word] = 0 }
        for slot in 0..<Ladder.windowSlots where slots[slot].mantissa != 0 {
            occupied[slot &>> 6] |= 1 &<< UInt64(slot & 63)
            windowCount &+= 1
            bestSlot = slot
        }
    }

    /// Keys off the grid: the grid becomes the common divisor of its step and the keys' distances, and
    /// the window is laid again on it around the same best.
    @usableFromInline
    mutating func regrid(adding keys: [Int64]) {
        var levels: [(key: Int64, qty: Quantity)] = []
        levels.reserveCapacity(count)
        forEachFromBest { levels.append(($0, $1)); return true }
        for key in keys { step = Ladder.gcd(step, (key &- lo).magnitude) }
        lay(levels.reversed())
    }

    /// The largest power of ten (up to 10^6) dividing `key`: a first guess at the grid, refined by `gcd`.
    @usableFromInline
    static func initialStep(for key: Int64) -> Int64 {
        var step: Int64 = 1
        while step < 1_000_000, key != 0, key % (step * 10) == 0 { step *= 10 }
        return step
    }

    @usableFromInline
    static func gcd(_ a: Int64, _ b: UInt64) -> Int64 {
        var (x, y) = (a.magnitude, b)
        while y != 0 { (x, y) = (y, x % y) }
        return x == 0 ? 1 : Int64(x)
    }
}

extension Ladder: Equatable {
    /// Same levels in the same order, however they are laid out.
    @usableFromInline
    static func == (lhs: Ladder, rhs: Ladder) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var left: [(Int64, Quantity)] = []
        var right: [(Int64, Quantity)] = []
        lhs.forEachFromBest { left.append(($0, $1)); return true }
        rhs.forEachFromBest { right.append(($0, $1)); return true }
        return left.elementsEqual(right) { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

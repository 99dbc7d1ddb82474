extension JSONScanner {
    /// How a level with more than two numbers (`[price, size, extra…]`) is read.
    public enum ExtraLevelSizes: Sendable {
        /// Added to the size: Bybit's `orderbook.rpi` levels are `[price, nonRPI size, RPI size]`.
        case sum
        /// Skipped.
        case ignore
    }

    /// Reads `[[price, size], …]`, both exchanges' shape for book levels, as exact decimals.
    @inlinable
    public mutating func readPriceLevels(extraSizes: ExtraLevelSizes = .ignore) throws(JSONError) -> [PriceLevel] {
        var levels: [PriceLevel] = []
        // One allocation for the whole list, not a doubling every few levels (a depth diff has dozens).
        levels.reserveCapacity(estimatedLevelCount())
        var array = try beginArray()
        while try nextElement(in: &array) {
            if let level = readPlainLevel() {
                levels.append(level)
                continue
            }
            let start = offset
            var pair = try beginArray()
            guard try nextElement(in: &pair) else { throw JSONError(.missingField("price"), at: start) }
            let price = try readDecimal()
            guard try nextElement(in: &pair) else { throw JSONError(.missingField("size"), at: start) }
            var size = try readDecimal()
            while try nextElement(in: &pair) {
                switch extraSizes {
                case .ignore:
                    try skipValue()
                case .sum:
                    guard let sum = size.addingReportingOverflow(try readDecimal()) else {
                        throw JSONError(.invalidValue(field: "size"), at: start)
                    }
                    size = sum
                }
            }
            levels.append(PriceLevel(price: price, qty: size))
        }
        return levels
    }

    /// A capacity hint for the levels ahead: the bytes left in the message over 16, about the least a level
    /// takes (`["61496.5","0.01"],`) — enough for this array, a few times too many at worst (the rest of the
    /// message counted too); only a hint, so never a wrong result.
    @inlinable
    func estimatedLevelCount() -> Int { Swift.min((buffer.count - offset) / 16, 100_000) }
}

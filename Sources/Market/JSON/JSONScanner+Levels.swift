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
        var array = try beginArray()
        while try nextElement(in: &array) {
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
}

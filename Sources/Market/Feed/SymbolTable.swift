/// Symbols a decoder has seen, so a message reuses the `String` instead of allocating one.
public struct SymbolTable: Sendable {
    private var symbols: [String] = []
    public let capacity: Int

    public init(capacity: Int = 256) {
        self.capacity = capacity
    }

    /// The symbol spelled by `bytes` (added when new, while there is room).
    @inlinable
    public mutating func intern(_ bytes: UnsafeRawBufferPointer) -> String {
        let key = JSONString(bytes: bytes, hasEscapes: false)
        if let known = lookup(key) { return known }
        let symbol = String(decoding: bytes, as: UTF8.self)
        add(symbol)
        return symbol
    }

    @usableFromInline
    func lookup(_ key: JSONString) -> String? {
        for symbol in symbols where key.equals(symbol) { return symbol }
        return nil
    }

    @usableFromInline
    mutating func add(_ symbol: String) {
        if symbols.count < capacity { symbols.append(symbol) }
    }
}

/// What a `tickers.{symbol}` topic has published: a snapshot first, then deltas carrying only the
/// fields that changed (Bybit's linear tickers). Pure.
public struct TickerPublisher: Sendable {
    public private(set) var fields: [(String, String)] = []

    public init() {}

    /// The changed fields since the last publish, in the given order; `nil` when nothing changed.
    public mutating func publish(_ current: [(String, String)]) -> [(String, String)]? {
        var previous: [String: String] = [:]
        for (name, value) in fields { previous[name] = value }
        let changed = current.filter { previous[$0.0] != $0.1 }
        fields = current
        return changed.isEmpty ? nil : changed
    }
}

import Market

/// The one JSON object `keel book` prints: counters of the replay and the final book.
struct BookReport {
    var exchange: String
    var stats: FeedStats
    var state: BookState?
    var depth: Int

    var json: String {
        var out = JSONWriter(capacity: 512 + depth * 48)
        out.beginObject()
        out.field("exchange", exchange)
        out.key("symbol")
        if let state { out.string(state.symbol) } else { out.null() }
        out.field("messages", stats.messages)
        out.field("errors", stats.errors)
        out.field("snapshots", stats.snapshots)
        out.field("deltas", stats.deltas)
        out.field("trades", stats.trades)
        out.field("gaps", stats.gaps)
        out.field("valid", state?.isValid ?? false)
        out.key("last_update_id")
        if let id = state?.lastUpdateId { out.int(id) } else { out.null() }
        out.field("bid_levels", state?.book.bidCount ?? 0)
        out.field("ask_levels", state?.book.askCount ?? 0)
        out.key("bids")
        out.priceLevels(state?.book.levels(.bid, limit: depth) ?? [])
        out.key("asks")
        out.priceLevels(state?.book.levels(.ask, limit: depth) ?? [])
        out.endObject()
        return out.string
    }
}

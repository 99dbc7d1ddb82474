import Foundation
import Market
import Strategy

/// `report.html`: one self-contained page (no script, no network) with the price, our quotes and our
/// fills; the position; the PnL; and the summary table. The charts are SVG drawn here.
public struct BacktestReport {
    public let title: String
    public let summaryJSON: String
    public let summary: BacktestSummary
    public let curve: [EquityPoint]
    public let fills: [Fill]

    public init(title: String, summary: BacktestSummary, summaryJSON: String, curve: [EquityPoint], fills: [Fill]) {
        self.title = title
        self.summary = summary
        self.summaryJSON = summaryJSON
        self.curve = curve
        self.fills = fills
    }

    public var html: String {
        var page = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff}
        h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:22px 0 6px}
        table{border-collapse:collapse} td,th{padding:3px 10px;border-bottom:1px solid #e3e6ea;text-align:right}
        th{text-align:left;font-weight:600} svg{display:block;background:#fafbfc;border:1px solid #e3e6ea;max-width:960px}
        .legend span{margin-right:14px} .muted{color:#59636e} pre{white-space:pre-wrap;word-break:break-all}
        </style></head><body>
        <h1>\(escape(title))</h1>
        <p class="muted">\(curve.first.map { UTCTime.formatISO8601($0.time) } ?? "") → \(curve.last.map { UTCTime.formatISO8601($0.time) } ?? ""), \
        \(summary.events) events of \(escape(summary.symbol))</p>

        """
        page += "<h2>Price, our quotes and fills</h2>\n"
        page += "<p class=\"legend\"><span style=\"color:#1b1f24\">— mid</span><span style=\"color:#1f7a3a\">··· our bid</span>"
            + "<span style=\"color:#b42318\">··· our ask</span><span style=\"color:#1f7a3a\">▲ buy fill</span><span style=\"color:#b42318\">▼ sell fill</span></p>\n"
        page += priceChart()
        page += "<h2>Position</h2>\n" + lineChart([("#3b5bdb", curve.map { ($0.time, $0.position.doubleValue) })], step: true)
        page += "<h2>PnL (quote currency)</h2>\n<p class=\"legend\"><span style=\"color:#1b1f24\">— net</span>"
            + "<span style=\"color:#7048e8\">— realised − fees</span></p>\n"
        page += lineChart([("#1b1f24", curve.map { ($0.time, $0.net.doubleValue) }),
                           ("#7048e8", curve.map { ($0.time, ($0.realised - $0.fees).doubleValue) })], step: false)
        page += "<h2>Summary</h2>\n<table>\n"
        for (key, value) in rows { page += "<tr><th>\(escape(key))</th><td>\(escape(value))</td></tr>\n" }
        page += "</table>\n<h2>Summary line</h2>\n<pre>\(escape(summaryJSON))</pre>\n</body></html>\n"
        return page
    }

    private var rows: [(String, String)] {
        [("orders", "\(summary.orders)"), ("amends", "\(summary.amends)"), ("cancels", "\(summary.cancels)"), ("fills", "\(summary.fills)"),
         ("maker fills", "\(summary.makerFills)"), ("position", "\(summary.position)"), ("realised PnL", "\(summary.realised)"),
         ("unrealised PnL", "\(summary.unrealised)"), ("fees", "\(summary.fees)"), ("net PnL", "\(summary.net)"),
         ("max drawdown", "\(summary.maxDrawdown)"), ("round trips", "\(summary.roundTrips)"), ("halts", "\(summary.halts)"),
         ("quote uptime", "\(Int((summary.quoteUptime * 1000).rounded()) / 10).\(Int((summary.quoteUptime * 1000).rounded()) % 10) %")]
            + summary.markouts.enumerated().map { index, figures in
                ("markout \(Markouts.name(Markouts.horizons[index]))",
                 figures.all.map { String(format: "%+.2f bp (buy %@, sell %@)", $0, figures.buy.map { String(format: "%+.2f", $0) } ?? "–",
                                          figures.sell.map { String(format: "%+.2f", $0) } ?? "–") } ?? "–")
            }
    }

    // MARK: Drawing

    /// x: ns since the curve's first point (exact in a Double for 104 days); ticks as UTC time of day.
    private var chart: SVGChart {
        let t0 = curve.first?.time ?? 0
        return SVGChart { x in String(UTCTime.formatISO8601(t0 + Int64(x)).dropFirst(11).prefix(8)) }
    }

    private func x(_ time: Int64) -> Double { Double(time - (curve.first?.time ?? 0)) }

    private var span: (x0: Double, x1: Double) { (0, curve.last.map { x($0.time) } ?? 1) }

    private func lineChart(_ series: [(color: String, points: [(Int64, Double)])], step: Bool) -> String {
        chart.lines(series.map { line in SVGChart.Series(color: line.color, points: line.points.map { (x($0.0), $0.1) }, step: step) },
                    x0: span.x0, x1: span.x1)
    }

    private func priceChart() -> String {
        let mids = curve.compactMap { point in point.mid.map { (x: x(point.time), y: $0.doubleValue) } }
        let bids = curve.compactMap { point in point.ourBid.map { (x: x(point.time), y: $0.doubleValue) } }
        let asks = curve.compactMap { point in point.ourAsk.map { (x: x(point.time), y: $0.doubleValue) } }
        let chart = self.chart
        let f = chart.frame(x0: span.x0, x1: span.x1, values: mids.map(\.y) + bids.map(\.y) + asks.map(\.y) + fills.map(\.price.doubleValue))
        let fmt = SVGChart.fmt
        var svg = chart.open() + chart.axes(f)
        if !bids.isEmpty { svg += "<path d=\"\(chart.path(bids, f, step: true))\" fill=\"none\" stroke=\"#1f7a3a\" stroke-width=\"1\" stroke-dasharray=\"2 2\"/>" }
        if !asks.isEmpty { svg += "<path d=\"\(chart.path(asks, f, step: true))\" fill=\"none\" stroke=\"#b42318\" stroke-width=\"1\" stroke-dasharray=\"2 2\"/>" }
        if !mids.isEmpty { svg += "<path d=\"\(chart.path(mids, f, step: false))\" fill=\"none\" stroke=\"#1b1f24\" stroke-width=\"1.2\"/>" }
        for fill in fills {
            let px = f.x(x(fill.time)), py = f.y(fill.price.doubleValue)
            let points = fill.side == .buy ? "\(fmt(px)),\(fmt(py - 5)) \(fmt(px - 4)),\(fmt(py + 3)) \(fmt(px + 4)),\(fmt(py + 3))"
                : "\(fmt(px)),\(fmt(py + 5)) \(fmt(px - 4)),\(fmt(py - 3)) \(fmt(px + 4)),\(fmt(py - 3))"
            svg += "<polygon points=\"\(points)\" fill=\"\(fill.side == .buy ? "#1f7a3a" : "#b42318")\"><title>\(fill.side.rawValue) \(fill.qty) @ \(fill.price)</title></polygon>"
        }
        return svg + "</svg>\n"
    }

    private func escape(_ text: String) -> String { SVGChart.escape(text) }
}

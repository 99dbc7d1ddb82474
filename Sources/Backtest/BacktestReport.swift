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

    private let width = 960.0, height = 260.0, left = 70.0, right = 12.0, top = 10.0, bottom = 24.0

    private struct Frame {
        var t0: Int64, t1: Int64, y0: Double, y1: Double
        let width: Double, height: Double, left: Double, right: Double, top: Double, bottom: Double
        func x(_ t: Int64) -> Double { left + (width - left - right) * (t1 > t0 ? Double(t - t0) / Double(t1 - t0) : 0) }
        func y(_ v: Double) -> Double { top + (height - top - bottom) * (y1 > y0 ? 1 - (v - y0) / (y1 - y0) : 0.5) }
    }

    private func frame(values: [Double]) -> Frame {
        let t0 = curve.first?.time ?? 0, t1 = curve.last?.time ?? 1
        var y0 = values.min() ?? 0, y1 = values.max() ?? 1
        if y1 - y0 < 1e-12 { y0 -= 1; y1 += 1 }
        let pad = (y1 - y0) * 0.05
        return Frame(t0: t0, t1: t1, y0: y0 - pad, y1: y1 + pad, width: width, height: height, left: left, right: right, top: top, bottom: bottom)
    }

    private func axes(_ f: Frame) -> String {
        var svg = ""
        for i in 0...4 {
            let v = f.y0 + (f.y1 - f.y0) * Double(i) / 4
            let y = f.y(v)
            svg += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(width - right))\" y1=\"\(fmt(y))\" y2=\"\(fmt(y))\" stroke=\"#e3e6ea\"/>"
            svg += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#59636e\">\(label(v))</text>"
        }
        for i in 0...4 {
            let t = f.t0 + (f.t1 - f.t0) / 4 * Int64(i)
            let text = UTCTime.formatISO8601(t).dropFirst(11).prefix(8)
            let anchor = i == 0 ? "start" : i == 4 ? "end" : "middle"
            svg += "<text x=\"\(fmt(f.x(t)))\" y=\"\(fmt(height - 6))\" font-size=\"11\" text-anchor=\"\(anchor)\" fill=\"#59636e\">\(text)</text>"
        }
        return svg
    }

    private func path(_ points: [(Int64, Double)], _ f: Frame, step: Bool) -> String {
        var d = ""
        var previous: Double?
        for (t, v) in points {
            let x = fmt(f.x(t)), y = fmt(f.y(v))
            if d.isEmpty { d = "M\(x) \(y)" } else if step, let previous { d += " L\(x) \(fmt(f.y(previous))) L\(x) \(y)" } else { d += " L\(x) \(y)" }
            previous = v
        }
        return d
    }

    private func lineChart(_ series: [(color: String, points: [(Int64, Double)])], step: Bool) -> String {
        let f = frame(values: series.flatMap { $0.points.map(\.1) })
        var svg = "<svg viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += axes(f)
        for line in series where !line.points.isEmpty {
            svg += "<path d=\"\(path(line.points, f, step: step))\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\"/>"
        }
        return svg + "</svg>\n"
    }

    private func priceChart() -> String {
        let mids = curve.compactMap { point in point.mid.map { (point.time, $0.doubleValue) } }
        let bids = curve.compactMap { point in point.ourBid.map { (point.time, $0.doubleValue) } }
        let asks = curve.compactMap { point in point.ourAsk.map { (point.time, $0.doubleValue) } }
        let f = frame(values: mids.map(\.1) + bids.map(\.1) + asks.map(\.1) + fills.map(\.price.doubleValue))
        var svg = "<svg viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += axes(f)
        if !bids.isEmpty { svg += "<path d=\"\(path(bids, f, step: true))\" fill=\"none\" stroke=\"#1f7a3a\" stroke-width=\"1\" stroke-dasharray=\"2 2\"/>" }
        if !asks.isEmpty { svg += "<path d=\"\(path(asks, f, step: true))\" fill=\"none\" stroke=\"#b42318\" stroke-width=\"1\" stroke-dasharray=\"2 2\"/>" }
        if !mids.isEmpty { svg += "<path d=\"\(path(mids, f, step: false))\" fill=\"none\" stroke=\"#1b1f24\" stroke-width=\"1.2\"/>" }
        for fill in fills {
            let x = f.x(fill.time), y = f.y(fill.price.doubleValue)
            let points = fill.side == .buy ? "\(fmt(x)),\(fmt(y - 5)) \(fmt(x - 4)),\(fmt(y + 3)) \(fmt(x + 4)),\(fmt(y + 3))"
                : "\(fmt(x)),\(fmt(y + 5)) \(fmt(x - 4)),\(fmt(y - 3)) \(fmt(x + 4)),\(fmt(y - 3))"
            svg += "<polygon points=\"\(points)\" fill=\"\(fill.side == .buy ? "#1f7a3a" : "#b42318")\"><title>\(fill.side.rawValue) \(fill.qty) @ \(fill.price)</title></polygon>"
        }
        return svg + "</svg>\n"
    }

    private func fmt(_ value: Double) -> String {
        let scaled = (value * 10).rounded() / 10
        return scaled == scaled.rounded() ? String(Int(scaled)) : String(scaled)
    }

    private func label(_ value: Double) -> String {
        let magnitude = abs(value)
        let digits = magnitude >= 1000 ? 1 : magnitude >= 1 ? 3 : 6
        var factor = 1.0
        for _ in 0..<digits { factor *= 10 }
        return String((value * factor).rounded() / factor)
    }

    private func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}

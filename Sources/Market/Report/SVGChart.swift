/// Line charts drawn as SVG text, for the pictures Keel writes itself (the backtest report, the soak's
/// `resources.svg`): no script, no network, no library. Pure: values in, markup out.
public struct SVGChart: Sendable {
    /// One line: its colour, its points `(x, y)`, drawn as steps (a value holds until the next) or straight.
    public struct Series: Sendable {
        public var color: String
        public var points: [(x: Double, y: Double)]
        public var step: Bool
        public var dash: String?
        public var width: Double

        public init(color: String, points: [(x: Double, y: Double)], step: Bool = false, dash: String? = nil, width: Double = 1.5) {
            self.color = color
            self.points = points
            self.step = step
            self.dash = dash
            self.width = width
        }
    }

    /// A vertical line at `x` across the plot, with a tooltip (a fault, a recovery).
    public struct Marker: Sendable {
        public var x: Double
        public var color: String
        public var title: String

        public init(x: Double, color: String, title: String) {
            self.x = x
            self.color = color
            self.title = title
        }
    }

    /// The plot's scales: x and y ranges onto the drawing area.
    public struct Frame: Sendable {
        public var x0: Double, x1: Double, y0: Double, y1: Double
        let chart: SVGChart

        public func x(_ value: Double) -> Double {
            chart.left + (chart.width - chart.left - chart.right) * (x1 > x0 ? (value - x0) / (x1 - x0) : 0)
        }

        public func y(_ value: Double) -> Double {
            chart.top + (chart.height - chart.top - chart.bottom) * (y1 > y0 ? 1 - (value - y0) / (y1 - y0) : 0.5)
        }
    }

    public var width = 960.0, height = 260.0, left = 70.0, right = 12.0, top = 10.0, bottom = 24.0
    /// The text under an x tick.
    public var xLabel: @Sendable (Double) -> String

    public init(xLabel: @escaping @Sendable (Double) -> String) {
        self.xLabel = xLabel
    }

    /// Scales for x in `x0...x1` and every value in `values`, 5 % of room above and below.
    public func frame(x0: Double, x1: Double, values: [Double]) -> Frame {
        var y0 = values.min() ?? 0, y1 = values.max() ?? 1
        if y1 - y0 < 1e-12 { y0 -= 1; y1 += 1 }
        let pad = (y1 - y0) * 0.05
        return Frame(x0: x0, x1: x1, y0: y0 - pad, y1: y1 + pad, chart: self)
    }

    /// The opening tag, sized to the chart: to fill a page's width, or placed at `y` inside a larger picture.
    public func open(at y: Double? = nil) -> String {
        let box = "viewBox=\"0 0 \(Self.fmt(width)) \(Self.fmt(height))\""
        guard let y else { return "<svg \(box) width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">" }
        return "<svg x=\"0\" y=\"\(Self.fmt(y))\" width=\"\(Self.fmt(width))\" height=\"\(Self.fmt(height))\" \(box)>"
    }

    /// Five grid lines with their values, five x ticks with their labels.
    public func axes(_ f: Frame) -> String {
        var svg = ""
        for i in 0...4 {
            let v = f.y0 + (f.y1 - f.y0) * Double(i) / 4
            let y = f.y(v)
            svg += "<line x1=\"\(Self.fmt(left))\" x2=\"\(Self.fmt(width - right))\" y1=\"\(Self.fmt(y))\" y2=\"\(Self.fmt(y))\" stroke=\"#e3e6ea\"/>"
            svg += "<text x=\"\(Self.fmt(left - 6))\" y=\"\(Self.fmt(y + 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#59636e\">\(Self.label(v))</text>"
        }
        for i in 0...4 {
            let x = f.x0 + (f.x1 - f.x0) / 4 * Double(i)
            let anchor = i == 0 ? "start" : i == 4 ? "end" : "middle"
            svg += "<text x=\"\(Self.fmt(f.x(x)))\" y=\"\(Self.fmt(height - 6))\" font-size=\"11\" text-anchor=\"\(anchor)\" fill=\"#59636e\">\(Self.escape(xLabel(x)))</text>"
        }
        return svg
    }

    /// The `d` of a path through `points`.
    public func path(_ points: [(x: Double, y: Double)], _ f: Frame, step: Bool) -> String {
        var d = ""
        var previous: Double?
        for (px, py) in points {
            let x = Self.fmt(f.x(px)), y = Self.fmt(f.y(py))
            if d.isEmpty { d = "M\(x) \(y)" } else if step, let previous { d += " L\(x) \(Self.fmt(f.y(previous))) L\(x) \(y)" } else { d += " L\(x) \(y)" }
            previous = py
        }
        return d
    }

    /// A whole chart: axes, the lines, the markers; x spans the points (or `x0...x1` when given); placed at
    /// `y` inside a larger picture when given.
    public func lines(_ series: [Series], markers: [Marker] = [], x0: Double? = nil, x1: Double? = nil, at y: Double? = nil) -> String {
        let xs = series.flatMap { $0.points.map(\.x) }
        let f = frame(x0: x0 ?? xs.min() ?? 0, x1: x1 ?? xs.max() ?? 1, values: series.flatMap { $0.points.map(\.y) })
        var svg = open(at: y) + axes(f)
        for marker in markers {
            let x = Self.fmt(f.x(marker.x))
            svg += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(Self.fmt(top))\" y2=\"\(Self.fmt(height - bottom))\" stroke=\"\(marker.color)\" stroke-dasharray=\"3 3\">"
                + "<title>\(Self.escape(marker.title))</title></line>"
        }
        for line in series where !line.points.isEmpty {
            svg += "<path d=\"\(path(line.points, f, step: line.step))\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"\(Self.fmt(line.width))\""
                + (line.dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>"
        }
        return svg + "</svg>\n"
    }

    /// A coordinate to a tenth.
    public static func fmt(_ value: Double) -> String {
        let scaled = (value * 10).rounded() / 10
        return scaled == scaled.rounded() ? String(Int(scaled)) : String(scaled)
    }

    /// An axis value: fewer digits the larger it is.
    public static func label(_ value: Double) -> String {
        let magnitude = abs(value)
        let digits = magnitude >= 1000 ? 1 : magnitude >= 1 ? 3 : 6
        var factor = 1.0
        for _ in 0..<digits { factor *= 10 }
        return String((value * factor).rounded() / factor)
    }

    /// Text safe inside markup.
    public static func escape(_ text: String) -> String {
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

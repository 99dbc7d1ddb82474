import Foundation
import Market

/// `resources.svg` beside a soak's `summary.txt`: the resident memory, the anonymous memory (heap and
/// stacks: what the memory verdict judges, on its own scale so growth shows) and the CPU of each process
/// over the run, each fault marked where it was applied (red) and where the bot was healthy again (green),
/// a tooltip on each mark. Drawn here, one self-contained SVG.
public enum SoakPicture {
    static let colors = ["bot": "#3b5bdb", "connector": "#e8590c", "sim": "#868e96"]

    public static func svg(samples: [SoakSample], faults: [SoakFault]) -> String {
        let chart = SVGChart { seconds in
            let whole = Int(seconds.rounded())
            return whole >= 3_600 ? String(format: "%d:%02d:%02d", whole / 3_600, whole / 60 % 60, whole % 60) : String(format: "%d:%02d", whole / 60, whole % 60)
        }
        let roles = ["bot", "connector", "sim"].filter { role in samples.contains { $0.processes.contains { $0.role == role } } }
        // Memory from the second sample on: the first, taken as the processes start, would flatten the scale.
        let settled = samples.dropFirst()
        let rss = roles.map { role in
            SVGChart.Series(color: colors[role] ?? "#1b1f24", points: settled.compactMap { sample in
                sample.processes.first { $0.role == role }.map { (x: sample.t, y: Double($0.resources.rssBytes) / 1_048_576) }
            })
        }
        let anonymous = roles.filter { $0 != "sim" }.map { role in
            SVGChart.Series(color: colors[role] ?? "#1b1f24", points: settled.compactMap { sample in
                sample.processes.first { $0.role == role }?.resources.anonBytes.map { (x: sample.t, y: Double($0) / 1_048_576) }
            })
        }.filter { !$0.points.isEmpty }
        let cpu = roles.map { role in
            SVGChart.Series(color: colors[role] ?? "#1b1f24",
                            points: Array(zip(samples.dropFirst().map(\.t), SoakAnalysis.cpuPercents(samples, roles: [role]))).map { (x: $0.0, y: $0.1) })
        }
        var markers: [SVGChart.Marker] = []
        for fault in faults {
            let outcome = fault.recoverySeconds.map { String(format: "recovered %.1f s after it ended", $0) } ?? "not recovered"
            markers.append(.init(x: fault.at, color: "#b42318", title: String(format: "%@ at %.0f s (%@): %@", fault.kind, fault.at, fault.detail, outcome)))
            if let back = fault.recoveredAt {
                markers.append(.init(x: back, color: "#1f7a3a", title: String(format: "healthy again after %@ at %.0f s", fault.kind, back)))
            }
        }
        let x0 = samples.first?.t ?? 0, x1 = max(samples.last?.t ?? 1, faults.compactMap(\.recoveredAt).max() ?? 0)
        let width = chart.width, top = 56.0, gap = 34.0
        let charts = anonymous.isEmpty ? 2.0 : 3.0
        let height = top + charts * chart.height + (charts - 1) * gap + 8
        let recovered = faults.filter(\.recovered).count
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(SVGChart.fmt(width)) \(SVGChart.fmt(height))\" width=\"\(SVGChart.fmt(width))\" "
            + "height=\"\(SVGChart.fmt(height))\" font-family=\"system-ui,sans-serif\">"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
        svg += "<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"600\" fill=\"#1b1f24\">keel soak: resources over \(chart.xLabel(x1 - x0)) "
            + "— \(faults.count) faults, \(recovered) recovered</text>"
        var legend = 10.0
        for role in roles {
            svg += "<text x=\"\(SVGChart.fmt(legend))\" y=\"40\" font-size=\"12\" fill=\"\(colors[role] ?? "#1b1f24")\">— \(role)</text>"
            legend += 100
        }
        svg += "<text x=\"\(SVGChart.fmt(legend))\" y=\"40\" font-size=\"12\" fill=\"#b42318\">┆ fault</text>"
        svg += "<text x=\"\(SVGChart.fmt(legend + 70))\" y=\"40\" font-size=\"12\" fill=\"#1f7a3a\">┆ healthy again</text>"
        svg += "<text x=\"\(SVGChart.fmt(width - 10))\" y=\"\(SVGChart.fmt(top - 4))\" font-size=\"12\" text-anchor=\"end\" fill=\"#59636e\">resident memory (MB)</text>"
        svg += chart.lines(rss, markers: markers, x0: x0, x1: x1, at: top)
        var next = top + chart.height + gap
        if !anonymous.isEmpty {
            svg += "<text x=\"\(SVGChart.fmt(width - 10))\" y=\"\(SVGChart.fmt(next - 4))\" font-size=\"12\" text-anchor=\"end\" fill=\"#59636e\">"
                + "anonymous memory (MB): what the memory verdict judges</text>"
            svg += chart.lines(anonymous, markers: markers, x0: x0, x1: x1, at: next)
            next += chart.height + gap
        }
        let cpuTop = next
        svg += "<text x=\"\(SVGChart.fmt(width - 10))\" y=\"\(SVGChart.fmt(cpuTop - 4))\" font-size=\"12\" text-anchor=\"end\" fill=\"#59636e\">CPU (% of one core)</text>"
        svg += chart.lines(cpu, markers: markers, x0: x0, x1: x1, at: cpuTop)
        return svg + "</svg>\n"
    }
}

import Foundation
import Supervisor

/// One sample of a soak run: every process of the tree by role, and the machine around it.
public struct SoakSample: Sendable, Codable, Equatable {
    public struct Process: Sendable, Codable, Equatable {
        public var role: String
        public var resources: ProcessResources

        public init(role: String, resources: ProcessResources) {
            self.role = role
            self.resources = resources
        }
    }

    /// Seconds since the soak started.
    public var t: Double
    public var processes: [Process]
    public var memoryAvailableBytes: Int64
    public var loopbackReceivedBytes: Int64
    public var loopbackSentBytes: Int64
    /// Bytes under the soak's output directory (logs, the SQLite file).
    public var diskBytes: Int64

    public init(t: Double, processes: [Process], memoryAvailableBytes: Int64, loopbackReceivedBytes: Int64, loopbackSentBytes: Int64, diskBytes: Int64) {
        self.t = t
        self.processes = processes
        self.memoryAvailableBytes = memoryAvailableBytes
        self.loopbackReceivedBytes = loopbackReceivedBytes
        self.loopbackSentBytes = loopbackSentBytes
        self.diskBytes = diskBytes
    }
}

/// A fault the soak applied, and whether (and how fast) the bot came back from it.
public struct SoakFault: Sendable, Codable, Equatable {
    public var at: Double
    public var kind: String
    public var recovered: Bool
    /// From the fault's end (its `seconds` after it was applied) to the bot healthy again.
    public var recoverySeconds: Double?
    public var detail: String
    /// When the bot was healthy again, seconds since the soak started.
    public var recoveredAt: Double?

    public init(at: Double, kind: String, recovered: Bool, recoverySeconds: Double?, detail: String, recoveredAt: Double? = nil) {
        self.at = at
        self.kind = kind
        self.recovered = recovered
        self.recoverySeconds = recoverySeconds
        self.detail = detail
        self.recoveredAt = recoveredAt
    }
}

public struct SoakThresholds: Sendable, Codable, Equatable {
    /// Memory growth of the bot and its connector, MB per hour (least-squares slope after the warm-up).
    public var memorySlopeMBPerHour = 1.0
    /// Mean CPU of the bot and its connector, percent of one core.
    public var cpuMeanPercent = 80.0
    /// Everything the soak wrote (logs, storage).
    public var diskCapBytes: Int64 = 1 << 30
    /// Samples before this many seconds are left out of the growth figures (start-up allocations).
    public var warmupSeconds = 300.0

    public init() {}
}

/// What a soak run's samples say: memory slope with its 95 % confidence interval, descriptor and thread
/// growth, CPU mean and p95, disk used, recoveries; and a verdict for each threshold.
public struct SoakAnalysis: Sendable, Codable, Equatable {
    public struct Slope: Sendable, Codable, Equatable {
        public var mbPerHour: Double
        public var ci95Low: Double?
        public var ci95High: Double?
        public var samples: Int
    }

    public struct Growth: Sendable, Codable, Equatable {
        public var first: Int
        public var last: Int
        public var max: Int
        public var growth: Int
    }

    public struct Verdict: Sendable, Codable, Equatable {
        public var name: String
        public var passed: Bool
        public var detail: String
        /// True when the run cannot judge this (it does not fail the run, and says so).
        public var inconclusive: Bool?

        public init(name: String, passed: Bool, detail: String, inconclusive: Bool? = nil) {
            self.name = name
            self.passed = passed
            self.detail = detail
            self.inconclusive = inconclusive
        }
    }

    public var durationSeconds: Double
    public var samples: Int
    /// Bot + connector memory: its slope, and the judged kind (`anonymous RSS`, or `RSS` for older samples).
    public var memory: Slope
    public var memoryKind: String
    public var memoryFirstMB: Double
    public var memoryLastMB: Double
    /// The whole resident set (file-backed pages included), reported.
    public var rssFirstMB: Double
    public var rssLastMB: Double
    /// The sim's own (the exchange, not Keel's trading path): reported, not judged.
    public var simMemory: Slope
    public var openFiles: Growth
    public var threads: Growth
    public var cpuMeanPercent: Double
    public var cpuP95Percent: Double
    public var simCPUMeanPercent: Double
    public var diskBytes: Int64
    public var faultsApplied: Int
    public var faultsRecovered: Int
    public var recoveryMin: Double?
    public var recoveryMedian: Double?
    public var recoveryMax: Double?
    public var recoveryByKind: [String: [Double]]
    public var thresholds: SoakThresholds
    public var verdicts: [Verdict]
    public var passed: Bool

    static let keel: Set<String> = ["bot", "connector"]

    /// How long the bot's and its connector's memory take to settle after a start (allocator arenas, caches,
    /// code first run): a shorter run's memory slope says nothing about a leak, and is reported as
    /// inconclusive rather than judged.
    public static let memorySettleSeconds = 300.0

    public static func analyse(_ samples: [SoakSample], faults: [SoakFault], thresholds: SoakThresholds) -> SoakAnalysis {
        let duration = samples.last?.t ?? 0
        // A sample taken while the connector was being replaced (a kill, a stale restart) lacks it: its
        // sums would dip by a whole process, so growth is judged on samples that hold the whole tree.
        let whole = samples.filter { sample in keel.allSatisfy { role in sample.processes.contains { $0.role == role } } }
        let steady = whole.filter { $0.t >= thresholds.warmupSeconds }
        let fitted = steady.count >= 3 ? steady : (whole.count >= 3 ? whole : samples)
        /// MB of `bytes` summed over the processes of `roles`.
        func megabytes(_ sample: SoakSample, _ roles: Set<String>, _ bytes: (ProcessResources) -> Int64) -> Double {
            Double(sample.processes.filter { roles.contains($0.role) }.reduce(Int64(0)) { $0 + bytes($1.resources) }) / 1_048_576
        }
        func rss(_ sample: SoakSample, _ roles: Set<String>) -> Double { megabytes(sample, roles) { $0.rssBytes } }
        // A leak grows anonymous memory (heap, stacks); file-backed pages (code as it is first run) cannot leak.
        // Judged on `RssAnon` where the samples have it, on the whole RSS otherwise.
        let anonymous = fitted.allSatisfy { $0.processes.allSatisfy { $0.resources.anonBytes != nil } }
        func judged(_ sample: SoakSample, _ roles: Set<String>) -> Double {
            anonymous ? megabytes(sample, roles) { $0.anonBytes ?? 0 } : rss(sample, roles)
        }
        let memory = slope(fitted.map { ($0.t / 3600, judged($0, keel)) })
        let simMemory = slope(fitted.map { ($0.t / 3600, judged($0, ["sim"])) })
        func growth(_ value: (SoakSample) -> Int) -> Growth {
            let values = fitted.map(value)
            return Growth(first: values.first ?? 0, last: values.last ?? 0, max: values.max() ?? 0, growth: (values.last ?? 0) - (values.first ?? 0))
        }
        let files = growth { $0.processes.filter { keel.contains($0.role) }.reduce(0) { $0 + $1.resources.openFiles } }
        let threads = growth { $0.processes.filter { keel.contains($0.role) }.reduce(0) { $0 + $1.resources.threads } }
        let cpu = cpuPercents(samples, roles: keel)
        let simCPU = cpuPercents(samples, roles: ["sim"])
        let recoveries = faults.compactMap(\.recoverySeconds).sorted()
        var byKind: [String: [Double]] = [:]
        for fault in faults { if let seconds = fault.recoverySeconds { byKind[fault.kind, default: []].append(seconds) } }
        let disk = samples.last?.diskBytes ?? 0
        let cpuMean = cpu.isEmpty ? 0 : cpu.reduce(0, +) / Double(cpu.count)
        let recovered = faults.filter(\.recovered).count
        // A leak is a slope significantly above the threshold: the verdict fails when even the low end of the
        // 95 % interval is at or above it (a short run's wide interval cannot convict, nor acquit). A run
        // shorter than the memory's settling time cannot judge it at all.
        let slopeDetail = String(format: "%.3f MB/h, 95%% CI %@; low end < %.3g MB/h", memory.mbPerHour, interval(memory), thresholds.memorySlopeMBPerHour)
        let memoryVerdict = duration < memorySettleSeconds
            ? Verdict(name: "memory slope", passed: true,
                      detail: String(format: "inconclusive: a %.0f s run is shorter than the memory's %.0f s settling time (%@)",
                                     duration, memorySettleSeconds, slopeDetail), inconclusive: true)
            : Verdict(name: "memory slope", passed: (memory.ci95Low ?? memory.mbPerHour) < thresholds.memorySlopeMBPerHour, detail: slopeDetail)
        var verdicts = [
            memoryVerdict,
            Verdict(name: "cpu mean", passed: cpuMean < thresholds.cpuMeanPercent,
                    detail: String(format: "%.1f %% of a core < %.0f %%", cpuMean, thresholds.cpuMeanPercent)),
            Verdict(name: "disk", passed: disk < thresholds.diskCapBytes,
                    detail: "\(disk / 1_048_576) MB < \(thresholds.diskCapBytes / 1_048_576) MB"),
            Verdict(name: "faults recovered", passed: recovered == faults.count,
                    detail: "\(recovered) of \(faults.count)"),
        ]
        verdicts.append(Verdict(name: "descriptors", passed: files.growth <= 8, detail: "growth \(files.growth) (first \(files.first), last \(files.last)) ≤ 8"))
        return SoakAnalysis(
            durationSeconds: duration, samples: samples.count, memory: memory, memoryKind: anonymous ? "anonymous RSS" : "RSS",
            memoryFirstMB: fitted.first.map { judged($0, keel) } ?? 0, memoryLastMB: fitted.last.map { judged($0, keel) } ?? 0,
            rssFirstMB: fitted.first.map { rss($0, keel) } ?? 0, rssLastMB: fitted.last.map { rss($0, keel) } ?? 0, simMemory: simMemory, openFiles: files, threads: threads,
            cpuMeanPercent: cpuMean, cpuP95Percent: percentile(cpu, 0.95) ?? 0,
            simCPUMeanPercent: simCPU.isEmpty ? 0 : simCPU.reduce(0, +) / Double(simCPU.count), diskBytes: disk,
            faultsApplied: faults.count, faultsRecovered: recovered, recoveryMin: recoveries.first,
            recoveryMedian: percentile(recoveries, 0.5), recoveryMax: recoveries.last, recoveryByKind: byKind,
            thresholds: thresholds, verdicts: verdicts, passed: verdicts.allSatisfy(\.passed))
    }

    /// Least squares y = a + b·x, with b's 95 % confidence interval (Student's t, n − 2 degrees of freedom).
    static func slope(_ points: [(x: Double, y: Double)]) -> Slope {
        let n = Double(points.count)
        guard points.count >= 2 else { return Slope(mbPerHour: 0, ci95Low: nil, ci95High: nil, samples: points.count) }
        let mx = points.reduce(0) { $0 + $1.x } / n
        let my = points.reduce(0) { $0 + $1.y } / n
        let sxx = points.reduce(0) { $0 + ($1.x - mx) * ($1.x - mx) }
        let sxy = points.reduce(0) { $0 + ($1.x - mx) * ($1.y - my) }
        guard sxx > 0 else { return Slope(mbPerHour: 0, ci95Low: nil, ci95High: nil, samples: points.count) }
        let b = sxy / sxx
        guard points.count >= 3 else { return Slope(mbPerHour: b, ci95Low: nil, ci95High: nil, samples: points.count) }
        let a = my - b * mx
        let sse = points.reduce(0) { $0 + pow($1.y - (a + b * $1.x), 2) }
        let se = (sse / (n - 2) / sxx).squareRoot()
        let t = studentT95(points.count - 2)
        return Slope(mbPerHour: b, ci95Low: b - t * se, ci95High: b + t * se, samples: points.count)
    }

    /// Two-sided 95 % quantile of Student's t.
    static func studentT95(_ df: Int) -> Double {
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]
        if df >= 1 && df <= table.count { return table[df - 1] }
        if df <= 30 { return 2.05 }
        if df <= 60 { return 2.01 }
        if df <= 120 { return 1.98 }
        return 1.96
    }

    /// CPU of `roles` between consecutive samples, percent of one core. A process whose pid changed (a
    /// restarted connector) counts from zero.
    public static func cpuPercents(_ samples: [SoakSample], roles: Set<String>) -> [Double] {
        zip(samples, samples.dropFirst()).compactMap { before, after in
            let wall = after.t - before.t
            guard wall > 0 else { return nil }
            var seconds = 0.0
            for process in after.processes where roles.contains(process.role) {
                let now = process.resources.userSeconds + process.resources.systemSeconds
                let then = before.processes.first { $0.role == process.role && $0.resources.pid == process.resources.pid }
                    .map { $0.resources.userSeconds + $0.resources.systemSeconds } ?? 0
                seconds += max(now - then, 0)
            }
            return seconds / wall * 100
        }
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(Int((Double(sorted.count - 1) * p).rounded()), sorted.count - 1)]
    }

    static func interval(_ slope: Slope) -> String {
        guard let low = slope.ci95Low, let high = slope.ci95High else { return "n/a" }
        return String(format: "%.3f … %.3f", low, high)
    }

    /// The human-readable report (`summary.txt`).
    public func summary() -> String {
        func f(_ value: Double?, _ digits: Int = 2) -> String { value.map { String(format: "%.\(digits)f", $0) } ?? "-" }
        var lines = [
            "keel soak: \(passed ? "PASSED" : "FAILED") after \(f(durationSeconds / 60, 1)) min, \(samples) samples",
            "",
            "memory (bot + connector, \(memoryKind)): \(f(memoryFirstMB, 1)) → \(f(memoryLastMB, 1)) MB; slope \(f(memory.mbPerHour, 3)) MB/h, 95% CI \(Self.interval(memory)) (\(memory.samples) samples after a \(f(thresholds.warmupSeconds, 0)) s warm-up)",
            "memory (bot + connector, whole RSS with the binary's pages): \(f(rssFirstMB, 1)) → \(f(rssLastMB, 1)) MB",
            "memory (sim, not judged): slope \(f(simMemory.mbPerHour, 3)) MB/h",
            "open files (bot + connector): \(openFiles.first) → \(openFiles.last) (max \(openFiles.max)); threads \(threads.first) → \(threads.last) (max \(threads.max))",
            "cpu (bot + connector, % of one core): mean \(f(cpuMeanPercent, 1)), p95 \(f(cpuP95Percent, 1)); sim mean \(f(simCPUMeanPercent, 1))",
            "disk written: \(diskBytes / 1_048_576) MB",
            "faults: \(faultsApplied) applied, \(faultsRecovered) recovered; recovery min / median / max \(f(recoveryMin)) / \(f(recoveryMedian)) / \(f(recoveryMax)) s",
        ]
        for (kind, values) in recoveryByKind.sorted(by: { $0.key < $1.key }) {
            let sorted = values.sorted()
            lines.append("  \(kind): \(values.count)×, \(f(sorted.first)) / \(f(Self.percentile(sorted, 0.5))) / \(f(sorted.last)) s")
        }
        lines.append("")
        for verdict in verdicts {
            lines.append("\(verdict.inconclusive == true ? "INCONCLUSIVE" : verdict.passed ? "PASS" : "FAIL")  \(verdict.name): \(verdict.detail)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

import Foundation
import Service
import Supervisor
import Testing

/// The soak's arithmetic on made-up samples: slope and interval, CPU across a restarted connector, verdicts.
struct SoakAnalysisTests {
    private func sample(_ t: Double, botRSS: Int64, cpu: Double, connectorPid: Int32 = 20, connectorCPU: Double = 0, files: Int = 40) -> SoakSample {
        func process(_ role: String, _ pid: Int32, _ rss: Int64, _ cpu: Double, _ files: Int) -> SoakSample.Process {
            SoakSample.Process(role: role, resources: ProcessResources(pid: pid, userSeconds: cpu, systemSeconds: 0, rssBytes: rss, vmsBytes: rss * 4,
                                                                       threads: 10, openFiles: files, readBytes: 0, writeBytes: 0))
        }
        return SoakSample(t: t, processes: [process("bot", 10, botRSS, cpu, files), process("connector", connectorPid, 20 << 20, connectorCPU, 10),
                                            process("sim", 30, 200 << 20, t, 5)],
                          memoryAvailableBytes: 1 << 30, loopbackReceivedBytes: 0, loopbackSentBytes: 0, diskBytes: 1 << 20)
    }

    @Test func aSteadyLeakIsMeasuredAndConvicted() {
        // 2 MB an hour, sampled every minute for two hours, plus a little noise.
        var samples: [SoakSample] = []
        for i in 0...120 {
            let growth = Int64(Double(i) / 60 * 2 * 1_048_576)
            let noise = Int64((i % 3) * 4_096)
            samples.append(sample(Double(i) * 60, botRSS: (100 << 20) + growth + noise, cpu: Double(i) * 6))
        }
        var thresholds = SoakThresholds()
        thresholds.warmupSeconds = 0
        let analysis = SoakAnalysis.analyse(samples, faults: [], thresholds: thresholds)
        #expect(abs(analysis.memory.mbPerHour - 2) < 0.01, "\(analysis.memory)")
        #expect(analysis.memory.ci95Low! > 1.9 && analysis.memory.ci95High! < 2.1)
        #expect(analysis.verdicts.first { $0.name == "memory slope" }?.passed == false)
        // The bot used 6 s of CPU a minute: 10 % of a core.
        #expect(abs(analysis.cpuMeanPercent - 10) < 0.001)
        #expect(!analysis.passed)
    }

    @Test func flatMemoryPassesAndARestartedConnectorCountsFromZero() {
        var samples: [SoakSample] = []
        for i in 0...10 {
            // The connector is replaced at sample 5: its CPU seconds start again from 0.3.
            let pid: Int32 = i < 5 ? 20 : 21
            let connectorCPU = i < 5 ? Double(i) * 0.5 : 0.3 + Double(i - 5) * 0.5
            samples.append(sample(Double(i) * 10, botRSS: 100 << 20, cpu: Double(i), connectorPid: pid, connectorCPU: connectorCPU))
        }
        var thresholds = SoakThresholds()
        thresholds.warmupSeconds = 0
        let faults = [SoakFault(at: 45, kind: "kill_connector", recovered: true, recoverySeconds: 0.8, detail: ""),
                      SoakFault(at: 60, kind: "stall", recovered: true, recoverySeconds: 0.4, detail: ""),
                      SoakFault(at: 80, kind: "gap", recovered: true, recoverySeconds: 0.3, detail: "")]
        let analysis = SoakAnalysis.analyse(samples, faults: faults, thresholds: thresholds)
        #expect(abs(analysis.memory.mbPerHour) < 1e-9)
        // 1 s (bot) + 0.5 s (connector) per 10 s = 15 %; at the restart 1 + 0.3.
        let cpu = SoakAnalysis.cpuPercents(samples, roles: ["bot", "connector"])
        #expect(cpu.count == 10)
        #expect(abs(cpu[0] - 15) < 1e-9 && abs(cpu[4] - 13) < 1e-9)
        #expect(analysis.recoveryMin == 0.3 && analysis.recoveryMedian == 0.4 && analysis.recoveryMax == 0.8)
        #expect(analysis.faultsRecovered == 3)
        #expect(analysis.passed, "\(analysis.verdicts.filter { !$0.passed })")
        // 100 s: shorter than the memory's settling time, so its slope is reported, not judged.
        #expect(analysis.summary().contains("INCONCLUSIVE  memory slope: inconclusive: a 100 s run"), "\(analysis.summary())")
    }

    /// `keel soak --duration 2m`: memory still settling climbs steeply; two minutes cannot tell that from a
    /// leak, so the verdict is inconclusive and the run passes. Five minutes of the same climb is judged.
    @Test func aRunShorterThanTheMemorysSettlingIsInconclusiveNotFailed() {
        func run(minutes: Int) -> SoakAnalysis {
            let samples = (0...(minutes * 12)).map { i in sample(Double(i) * 5, botRSS: (100 << 20) + Int64(i) * (256 << 10), cpu: Double(i)) }
            var thresholds = SoakThresholds()
            thresholds.warmupSeconds = 24
            return SoakAnalysis.analyse(samples, faults: [], thresholds: thresholds)
        }
        let short = run(minutes: 2)
        let verdict = short.verdicts.first { $0.name == "memory slope" }
        #expect(verdict?.inconclusive == true && verdict?.passed == true)
        #expect(short.passed, "\(short.summary())")
        let long = run(minutes: 5)
        #expect(long.verdicts.first { $0.name == "memory slope" }?.passed == false)
        #expect(long.verdicts.first { $0.name == "memory slope" }?.inconclusive == nil)
    }

    @Test func anUnrecoveredFaultOrGrowingDescriptorsFail() {
        let samples = (0...10).map { sample(Double($0) * 10, botRSS: 100 << 20, cpu: 0, files: 40 + $0 * 2) }
        var thresholds = SoakThresholds()
        thresholds.warmupSeconds = 0
        let analysis = SoakAnalysis.analyse(samples, faults: [SoakFault(at: 5, kind: "reject", recovered: false, recoverySeconds: nil, detail: "")],
                                            thresholds: thresholds)
        #expect(analysis.verdicts.first { $0.name == "faults recovered" }?.passed == false)
        #expect(analysis.verdicts.first { $0.name == "descriptors" }?.passed == false)
        #expect(!analysis.passed)
    }

    /// `resources.svg`: each process's memory and CPU as a line, every fault and recovery marked with its tooltip.
    @Test func thePictureDrawsEachProcessAndMarksFaultsAndRecoveries() {
        var samples: [SoakSample] = []
        for i in 0...30 {
            var next = sample(Double(i) * 10, botRSS: (30 << 20) + Int64(i) * 4_096, cpu: Double(i) * 0.5, connectorPid: i < 12 ? 20 : 21)
            for index in next.processes.indices where next.processes[index].role != "sim" {
                next.processes[index].resources.anonBytes = next.processes[index].resources.rssBytes / 3
            }
            samples.append(next)
        }
        let faults = [SoakFault(at: 100, kind: "kill_connector", recovered: true, recoverySeconds: 0.8, detail: "killed pid 20", recoveredAt: 101),
                      SoakFault(at: 200, kind: "stall", recovered: false, recoverySeconds: nil, detail: "sim answered 200")]
        let svg = SoakPicture.svg(samples: samples, faults: faults)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.hasSuffix("</svg>\n"))
        // Three charts: memory and CPU a line per process, anonymous memory (judged) for the bot and its connector.
        #expect(svg.components(separatedBy: "<path d=").count - 1 == 8)
        #expect(svg.contains("anonymous memory (MB): what the memory verdict judges"))
        for role in ["bot", "connector", "sim"] { #expect(svg.contains("— \(role)")) }
        // Three marks (two faults, one recovery), drawn on each chart.
        #expect(svg.components(separatedBy: "stroke-dasharray=\"3 3\"").count - 1 == 9)
        #expect(svg.contains("<title>kill_connector at 100 s (killed pid 20): recovered 0.8 s after it ended</title>"))
        #expect(svg.contains("<title>stall at 200 s (sim answered 200): not recovered</title>"))
        #expect(svg.contains("<title>healthy again after kill_connector at 101 s</title>"))
        #expect(svg.contains("2 faults, 1 recovered") && svg.contains("resources over 5:00"))
        #expect(!svg.contains("http://") || svg.components(separatedBy: "http://").count == 2, "only the SVG namespace")
    }
}

import Foundation
import Logging
import Runtime
import ServiceLifecycle

/// A fault schedule: one JSON fault a line, each with `at` (seconds after start), e.g.
/// `{"at": 30, "kind": "stall", "seconds": 15}`. Blank lines and lines starting with `#` are skipped.
public struct FaultSchedule: Sendable, Equatable {
    public var faults: [SimFault]

    public init(faults: [SimFault]) {
        self.faults = faults.sorted { ($0.at ?? 0) < ($1.at ?? 0) }
    }

    public enum ParseError: Error, CustomStringConvertible {
        case badLine(number: Int, reason: String)

        public var description: String {
            switch self {
            case .badLine(let number, let reason):
                let kinds = SimFault.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                return "fault schedule line \(number): \(reason) (expected {\"at\": seconds, \"kind\": one of \(kinds), \"seconds\", \"symbol\", \"code\", \"ms\"})"
            }
        }
    }

    public init(text: String) throws {
        var faults: [SimFault] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                let fault = try JSONDecoder().decode(SimFault.self, from: Data(trimmed.utf8))
                guard let at = fault.at, at >= 0 else { throw ParseError.badLine(number: index + 1, reason: "\"at\" (seconds after start, ≥ 0) is required") }
                _ = at
                faults.append(fault)
            } catch let error as ParseError {
                throw error
            } catch {
                throw ParseError.badLine(number: index + 1, reason: "not a fault object")
            }
        }
        self.init(faults: faults)
    }
}

/// Applies a fault schedule on time, logging each fault (and refusals) as it goes.
struct FaultScheduleService: Service {
    let schedule: FaultSchedule
    let exchange: SimExchange
    let logger: Logger

    func run() async throws {
        let start = ContinuousClock.now
        for fault in schedule.faults {
            try? await Task.sleep(until: start + .milliseconds(Int64((fault.at ?? 0) * 1_000)), clock: .continuous)
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            do throws(SimError) {
                try await exchange.apply(fault, now: WallClock.nanoseconds())
                logger.info("sim_fault_applied", metadata: ["kind": "\(fault.kind.rawValue)", "at": "\(fault.at ?? 0)"])
            } catch {
                logger.error("sim_fault_refused", metadata: ["kind": "\(fault.kind.rawValue)", "reason": "\(error.message)"])
            }
        }
        // Stay up with the group; a finished service would end it.
        try? await gracefulShutdown()
    }
}

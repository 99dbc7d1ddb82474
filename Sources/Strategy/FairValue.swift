import Foundation
import Market

/// The price the quotes are centred on (`strategy.fair_value`), from the book. Pure.
///
/// - `mid`: (best bid + best ask) / 2.
/// - `microprice`: the touch weighted by the opposite side's size, (bid·Q_ask + ask·Q_bid) / (Q_bid + Q_ask):
///   a heavy bid pulls it toward the ask.
/// - `imbalance`: the mid shifted by c · I ticks, I = (Q_bid − Q_ask) / (Q_bid + Q_ask) over
///   `strategy.imbalance_levels` levels a side, in [−1, 1]; c (`strategy.imbalance_coefficient`, ticks)
///   configured, or estimated online as the least-squares slope of the mid's move over the next
///   `horizon` (in ticks) on I, through the origin: c = Σ I·Δm / Σ I², each sum decayed with a
///   `halfLife`-sample half-life, one sample a horizon; until `minimumSamples`, c = 0 (the mid).
///
/// The fair price is kept to a hundredth of a tick; the inventory skew applies on top of it.
public struct FairValue: Sendable {
    public enum Mode: String, Sendable, Equatable {
        case mid
        case microprice
        case imbalance
    }

    public struct Parameters: Sendable, Equatable {
        public var mode = Mode.mid
        /// Ticks of fair-price shift per unit of imbalance; nil: estimated.
        public var coefficient: Double?
        /// How far ahead the estimate looks, ns.
        public var horizon: Int64 = 1_000_000_000
        public var halfLife = 300.0
        public var minimumSamples = 30

        public init() {}
    }

    public let parameters: Parameters
    private var sxy = 0.0
    private var sxx = 0.0
    public private(set) var samples = 0
    /// The sample waiting for its horizon: time, imbalance, mid in ticks.
    private var pending: (time: Int64, imbalance: Double, mid: Double)?

    public init(parameters: Parameters) {
        self.parameters = parameters
    }

    /// The coefficient in use: the configured one, or the estimate (0 until enough samples).
    public var coefficient: Double {
        if let configured = parameters.coefficient { return configured }
        guard samples >= parameters.minimumSamples, sxx > 0 else { return 0 }
        return sxy / sxx
    }

    /// After a book change at `time`: the estimator's samples (mid in ticks).
    public mutating func observe(imbalance: Double?, midTicks: Double?, time: Int64) {
        guard parameters.mode == .imbalance, parameters.coefficient == nil, let midTicks else { return }
        if let waiting = pending, time - waiting.time >= parameters.horizon {
            let decay = pow(0.5, 1 / parameters.halfLife)
            sxy = sxy * decay + waiting.imbalance * (midTicks - waiting.mid)
            sxx = sxx * decay + waiting.imbalance * waiting.imbalance
            samples += 1
            pending = nil
        }
        if pending == nil, let imbalance { pending = (time, imbalance, midTicks) }
    }

    /// The fair price for the book's figures; nil without a mid.
    public func price(mid: Price?, microprice: Price?, imbalance: Double?, tick: Price) -> Price? {
        guard let mid else { return nil }
        switch parameters.mode {
        case .mid:
            return mid
        case .microprice:
            return microprice ?? mid
        case .imbalance:
            guard let imbalance else { return mid }
            let shift = (coefficient * imbalance * 100).rounded()
            guard shift.isFinite, abs(shift) < 1e12 else { return mid }
            return mid + tick * FixedDecimal(mantissa: Int64(shift), scale: 2)
        }
    }
}

import Foundation
import Market
import MarketContext

/// Where to quote: GLFT (Guéant–Lehalle–Fernandez-Tapia, infinite horizon) or a plain fixed spread,
/// in ticks from the mid, skewed against inventory. Pure.
///
/// GLFT, every distance in ticks, σ in ticks per √s, q the position in order sizes (Δ = 1):
///   c1 = 1/(ξΔ) · ln(1 + ξΔ/k),  c2 = √( γ/(2AΔk) · (1 + ξΔ/k)^(k/(ξΔ) + 1) ),  ξ = γ
///   half spread h = c1 + Δ/2 · σ · c2,  skew s = σ · c2
///   bid depth δb = h + s·q,  ask depth δa = h − s·q
/// Fees: a maker fee f (a rate; negative for a rebate) costs f·mid per unit on each fill, so the model's
/// edge is δ − φ with φ = f·mid/tick ticks: the GLFT depths are the fee-free optimum plus φ on each side
///   h = c1 + Δ/2 · σ · c2 + φ
/// (a fee widens, a rebate narrows). Whatever the model says, the spread δb + δa is never below the
/// floor max(min_spread_bps, 2·f·10⁴ + min_edge_bps) bp of the mid: no round trip that cannot pay its
/// two fees and `minEdgeBps`.
/// Fixed: h = spread_bps/2 of the mid, s = skew_bps of the mid per order size (the configuration is
/// refused at start when the spread is under the floor).
/// Touch: each side `touchOffsetTicks` behind its own best price (0: join the touch), no skew — the
/// plain quoter of backtest comparisons, which quotes where it is told (no fee, no floor).
public struct QuoteModel: Sendable {
    public enum Mode: String, Sendable, Equatable {
        case glft
        case fixed
        case touch
    }

    public struct Parameters: Sendable, Equatable {
        public var mode = Mode.glft
        /// γ: risk aversion (also ξ).
        public var gamma = 0.1
        /// A (fills per second at the mid) and k (decay per tick); `nil` → estimated online, and
        /// `fallbackA` / `fallbackK` until the estimate exists.
        public var a: Double?
        public var k: Double?
        public var fallbackA = 1.0
        public var fallbackK = 0.5
        /// σ when `enableDynamicSpread` is off or no estimate exists yet, in bp of the mid per √s.
        public var volatilityBps = 1.0
        public var enableDynamicSpread = true
        public var enableInventorySkew = true
        /// The quoted spread (ask − bid) never goes below this, in bp of the mid (nor below the fees' floor).
        public var minSpreadBps = 2.0
        /// The maker fee of the venue the quotes go to, a rate per fill (0.0002 = 2 bp; negative: a rebate).
        public var makerFee = 0.0002
        /// What a round trip must earn beyond its two maker fees, in bp of the mid.
        public var minEdgeBps = 1.0
        /// Fixed mode: the spread and the skew per order size of inventory, in bp of the mid.
        public var fixedSpreadBps = 10.0
        public var fixedSkewBps = 2.0
        /// Touch mode: ticks behind the best bid (ask) each side quotes.
        public var touchOffsetTicks = 1.0

        public init() {}
    }

    /// The model's answer before prices are put on the grid.
    public struct Depths: Sendable, Equatable {
        public var bidTicks: Double
        public var askTicks: Double
        public var halfSpreadTicks: Double
        public var skewTicks: Double
        public var sigmaTicks: Double
        public var a: Double
        public var k: Double
        /// φ: the maker fee of one fill, in ticks (in the GLFT half spread).
        public var feeTicks = 0.0
        /// The spread floor that applied, in ticks (min_spread_bps, or the fees plus the edge).
        public var floorTicks = 0.0

        public init(bidTicks: Double, askTicks: Double, halfSpreadTicks: Double, skewTicks: Double, sigmaTicks: Double, a: Double, k: Double) {
            self.bidTicks = bidTicks
            self.askTicks = askTicks
            self.halfSpreadTicks = halfSpreadTicks
            self.skewTicks = skewTicks
            self.sigmaTicks = sigmaTicks
            self.a = a
            self.k = k
        }
    }

    public var parameters: Parameters

    public init(parameters: Parameters) {
        self.parameters = parameters
    }

    /// The least spread a round trip may have, in bp of the mid: `min_spread_bps`, or its two maker fees
    /// plus `min_edge_bps`, whichever is larger.
    public var floorBps: Double {
        max(parameters.minSpreadBps, 2 * parameters.makerFee * 10_000 + parameters.minEdgeBps)
    }

    /// The GLFT coefficients (c1, c2) for these γ, A, k and Δ = 1.
    public static func coefficients(gamma: Double, a: Double, k: Double) -> (c1: Double, c2: Double) {
        let xi = gamma
        let delta = 1.0
        let c1 = 1 / (xi * delta) * log(1 + xi * delta / k)
        let c2 = (gamma / (2 * a * delta * k) * pow(1 + xi * delta / k, k / (xi * delta) + 1)).squareRoot()
        return (c1, c2)
    }

    /// Depths from the mid for `inventory` (position ÷ order size) with `mid` and `tick` as Doubles
    /// (only to size distances; prices are made exact afterwards). `touch`: the best bid's and ask's
    /// distances from the mid in ticks (touch mode needs them).
    public func depths(mid: Double, tick: Double, volatility: Double?, intensity: FillIntensity.Estimate?, inventory: Double,
                       touch: (bid: Double, ask: Double)? = nil) -> Depths {
        let p = parameters
        let ticksPerBp = mid / 10_000 / tick
        let relativeSigma = (p.enableDynamicSpread ? volatility : nil) ?? p.volatilityBps / 10_000
        let sigma = relativeSigma * mid / tick
        let a = p.a ?? intensity?.a ?? p.fallbackA
        let k = p.k ?? intensity?.k ?? p.fallbackK
        var half: Double
        var skew: Double
        let fee = p.makerFee * mid / tick
        switch p.mode {
        case .glft:
            let (c1, c2) = QuoteModel.coefficients(gamma: p.gamma, a: a, k: k)
            half = c1 + 0.5 * sigma * c2 + fee
            skew = sigma * c2
        case .fixed:
            half = p.fixedSpreadBps / 2 * ticksPerBp
            skew = p.fixedSkewBps * ticksPerBp
        case .touch:
            half = 0
            skew = 0
        }
        if !p.enableInventorySkew { skew = 0 }
        var bid = half + skew * inventory
        var ask = half - skew * inventory
        if p.mode == .touch, let touch {
            // A hair inside, so the ladder's rounding away from the touch lands on the exact tick.
            bid = touch.bid + p.touchOffsetTicks - 1e-6
            ask = touch.ask + p.touchOffsetTicks - 1e-6
            half = (bid + ask) / 2
        }
        // Touch mode quotes where it is told; the others never under the floor.
        let minimum = p.mode == .touch ? p.minSpreadBps * ticksPerBp : floorBps * ticksPerBp
        if bid + ask < minimum {
            let widen = (minimum - (bid + ask)) / 2
            bid += widen
            ask += widen
            half += widen
        }
        var depths = Depths(bidTicks: bid, askTicks: ask, halfSpreadTicks: half, skewTicks: skew, sigmaTicks: sigma, a: a, k: k)
        depths.feeTicks = p.mode == .glft ? fee : 0
        depths.floorTicks = minimum
        return depths
    }
}

import Foundation
import Execution
import Market
import MarketContext
import Runtime
import Strategy

/// The `strategy.*` and `risk.*` keys (and `limits.max_active_per_side`): what to quote, how, and
/// inside which limits. Every bad value names its key and the fix.
public struct TradingSettings: Sendable {
    /// `strategy.enabled`: quote at all.
    public var enabled = true
    /// `strategy.paper_trading` (`CONNECTOR_PAPER_TRADING`): fills simulated on the live feed; off =
    /// orders go to the exchange account through the connector.
    public var paperTrading = true
    /// `strategy.symbol`: default the first of `exchange.symbols`.
    public var symbol: String?
    public var model = QuoteModel.Parameters()
    public var orderSize = Quantity(mantissa: 1, scale: 3)
    public var levelSizes: [Quantity] = []
    public var orderLevels = 1
    public var levelSpacingTicks: Int64 = 5
    public var tickSize = Price(mantissa: 1, scale: 1)
    public var qtyStep = Quantity(mantissa: 1, scale: 3)
    public var minQty = Quantity(mantissa: 1, scale: 3)
    /// A live quote is moved only when the wanted price is more than this many ticks away …
    public var refreshToleranceTicks: Int64 = 2
    /// … or when it is older than this (seconds): then it is replaced.
    public var maxOrderAge = 60.0
    /// At most one quoting decision per this many milliseconds of event time.
    public var quoteIntervalMilliseconds: Int64 = 200
    /// Orders a side, live or cancelling (`limits.max_active_per_side`).
    public var maxActivePerSide = 10
    /// Orders sent per second (place, amend, cancel) by the strategy; cancels on a halt or a stop always go.
    public var ordersPerSecond = 8
    public var paper = PaperExchange.Configuration()
    public var risk = RiskManager.Limits()
    /// Orders found on the exchange that this bot did not send: cancel them (default) or adopt them.
    public var adoptOrders = false

    /// `context.*`: how the market context is kept.
    public var context = ContextConfiguration()
    public var volatilitySource = MarketMakingStrategy.VolatilitySource.book
    /// `strategy.fair_value`, `strategy.imbalance_coefficient`, `strategy.imbalance_levels`.
    public var fairValue = FairValue.Parameters()
    public var imbalanceLevels = 5
    /// `strategy.toxicity_*`.
    public var toxicity = Toxicity.Parameters()
    /// `context.backfill`: seconds of 1m candles fetched over REST at start (0: none).
    public var backfill = 86_400.0
    /// `context.require_backfill`: no quoting until the backfill is done.
    public var requireBackfill = true

    public init() {
        risk.maxPosition = Quantity(mantissa: 10, scale: 3)
        risk.maxDrawdown = FixedDecimal(100)
        risk.maxLoss = FixedDecimal(200)
    }

    public static let keys = [
        "strategy.enabled", "strategy.paper_trading", "strategy.symbol", "strategy.model", "strategy.gamma", "strategy.fill_a", "strategy.fill_k",
        "strategy.volatility_bps", "strategy.enable_dynamic_spread", "strategy.enable_inventory_skew", "strategy.min_spread_bps",
        "strategy.fixed_spread_bps", "strategy.fixed_skew_bps", "strategy.touch_offset_ticks", "strategy.order_size", "strategy.level_sizes", "strategy.order_levels",
        "strategy.level_spacing_ticks", "strategy.tick_size", "strategy.qty_step", "strategy.min_qty", "strategy.refresh_tolerance_ticks",
        "strategy.max_order_age", "strategy.quote_interval_ms", "strategy.orders_per_second", "strategy.paper_latency_ms",
        "strategy.paper_maker_fee", "strategy.maker_fee", "strategy.taker_fee", "strategy.min_edge_bps", "strategy.adopt_orders",
        "strategy.fair_value", "strategy.imbalance_coefficient", "strategy.imbalance_levels",
        "strategy.toxicity_bps", "strategy.toxicity_horizon", "strategy.toxicity_min_fills", "strategy.toxicity_action",
        "strategy.toxicity_widen_bps", "strategy.toxicity_pause",
        "risk.max_position", "risk.max_notional", "risk.max_order_qty", "risk.enable_kill_switch", "risk.max_drawdown", "risk.max_loss",
        "risk.max_consecutive_losses", "limits.max_active_per_side",
        "strategy.volatility_source", "context.vwap_window", "context.profile_window", "context.profile_row_ticks", "context.value_area",
        "context.backfill", "context.require_backfill",
    ]

    /// Sets one key; false when the key is not a trading key.
    public mutating func set(_ key: String, _ text: String) throws(ConnectorSettings.Invalid) -> Bool {
        let setting = SettingValue(key: key, text: text)
        let value = setting.text
        func optionalNumber() throws(ConnectorSettings.Invalid) -> Double? {
            setting.isAbsent(["auto"]) ? nil : try setting.number(1e-9 ... 1e9)
        }
        func feeRate(example: String) throws(ConnectorSettings.Invalid) -> FixedDecimal {
            guard let fee = try? FixedDecimal(parsing: value), fee.doubleValue > -0.01, fee.doubleValue < 0.01 else {
                throw setting.invalid("\(value) is not a fee rate", fix: "write a rate between -0.01 and 0.01, e.g. \(example)")
            }
            return fee
        }
        func optionalDecimal() throws(ConnectorSettings.Invalid) -> FixedDecimal? {
            setting.isAbsent(["none"]) ? nil : try setting.decimal()
        }
        switch key {
        case "strategy.enabled": enabled = try setting.bool()
        case "strategy.paper_trading": paperTrading = try setting.bool()
        case "strategy.symbol": symbol = value.uppercased()
        case "strategy.model":
            guard let mode = QuoteModel.Mode(rawValue: value.lowercased()) else { throw setting.invalid("\(value) is not a quote model", fix: "use glft, fixed or touch") }
            model.mode = mode
        case "strategy.gamma": model.gamma = try setting.number(1e-6 ... 100)
        case "strategy.fill_a": model.a = try optionalNumber()
        case "strategy.fill_k": model.k = try optionalNumber()
        case "strategy.volatility_bps": model.volatilityBps = try setting.number(0 ... 10_000)
        case "strategy.enable_dynamic_spread": model.enableDynamicSpread = try setting.bool()
        case "strategy.enable_inventory_skew": model.enableInventorySkew = try setting.bool()
        case "strategy.min_spread_bps": model.minSpreadBps = try setting.number(0 ... 10_000)
        case "strategy.fixed_spread_bps": model.fixedSpreadBps = try setting.number(0 ... 10_000)
        case "strategy.fixed_skew_bps": model.fixedSkewBps = try setting.number(0 ... 10_000)
        case "strategy.touch_offset_ticks": model.touchOffsetTicks = try setting.number(0 ... 1_000_000)
        case "strategy.order_size": orderSize = try setting.decimal()
        case "strategy.level_sizes":
            var sizes: [Quantity] = []
            for part in value.split(separator: ",") {
                guard let size = try? FixedDecimal(parsing: part.trimmingCharacters(in: .whitespaces)), size.signum > 0 else {
                    throw setting.invalid("\(part) is not a positive decimal", fix: "write sizes from the touch outwards, e.g. [0.001, 0.002]")
                }
                sizes.append(size)
            }
            levelSizes = sizes
        case "strategy.order_levels": orderLevels = try setting.integer(1 ... 50)
        case "strategy.level_spacing_ticks": levelSpacingTicks = Int64(try setting.integer(1 ... 1_000_000))
        case "strategy.tick_size": tickSize = try setting.decimal()
        case "strategy.qty_step": qtyStep = try setting.decimal()
        case "strategy.min_qty": minQty = try setting.decimal()
        case "strategy.refresh_tolerance_ticks": refreshToleranceTicks = Int64(try setting.integer(0 ... 1_000_000))
        case "strategy.max_order_age": maxOrderAge = try setting.number(0.1 ... 86_400)
        case "strategy.quote_interval_ms": quoteIntervalMilliseconds = Int64(try setting.integer(1 ... 60_000))
        case "strategy.orders_per_second": ordersPerSecond = try setting.integer(1 ... 1_000)
        case "strategy.paper_latency_ms": paper.latency = Int64(try setting.integer(0 ... 60_000)) * 1_000_000
        case "strategy.maker_fee", "strategy.paper_maker_fee": paper.makerFeeRate = try feeRate(example: "0.0002 (2 bp; negative for a rebate)")
        case "strategy.taker_fee": paper.takerFeeRate = try feeRate(example: "0.00055")
        case "strategy.min_edge_bps": model.minEdgeBps = try setting.number(0 ... 10_000)
        case "strategy.fair_value":
            guard let mode = FairValue.Mode(rawValue: value.lowercased()) else { throw setting.invalid("\(value) is not a fair value", fix: "use mid, microprice or imbalance") }
            fairValue.mode = mode
        case "strategy.imbalance_coefficient":
            fairValue.coefficient = setting.isAbsent(["auto"]) ? nil : try setting.number(-1_000 ... 1_000)
        case "strategy.imbalance_levels": imbalanceLevels = try setting.integer(1 ... 50)
        case "strategy.toxicity_bps": toxicity.thresholdBps = setting.isAbsent(["none", "off"]) ? nil : try setting.number(-10_000 ... 10_000)
        case "strategy.toxicity_horizon":
            guard let index = Markouts.horizons.map(Markouts.name).firstIndex(of: value) else {
                throw setting.invalid("\(value) is not a markout horizon", fix: "use 1s, 5s or 30s")
            }
            toxicity.horizon = index
        case "strategy.toxicity_min_fills": toxicity.minimumFills = try setting.integer(1 ... 10_000)
        case "strategy.toxicity_action":
            guard let action = Toxicity.Action(rawValue: value) else { throw setting.invalid("\(value) is not a toxicity action", fix: "use widen or pause") }
            toxicity.action = action
        case "strategy.toxicity_widen_bps": toxicity.widenBps = try setting.number(0 ... 10_000)
        case "strategy.toxicity_pause": toxicity.pause = Int64(try setting.seconds(example: "30") * 1e9)
        case "strategy.adopt_orders": adoptOrders = try setting.bool()
        case "risk.max_position": risk.maxPosition = try optionalDecimal()
        case "risk.max_notional": risk.maxNotional = try optionalDecimal()
        case "risk.max_order_qty": risk.maxOrderQty = try optionalDecimal()
        case "risk.enable_kill_switch": risk.enableKillSwitch = try setting.bool()
        case "risk.max_drawdown": risk.maxDrawdown = try optionalDecimal()
        case "risk.max_loss": risk.maxLoss = try optionalDecimal()
        case "risk.max_consecutive_losses": risk.maxConsecutiveLosses = try setting.integer(0 ... 1_000)
        case "limits.max_active_per_side": maxActivePerSide = try setting.integer(1 ... 100)
        case "strategy.volatility_source":
            guard let source = MarketMakingStrategy.VolatilitySource(rawValue: value) else {
                throw setting.invalid("\(value) is not a volatility source", fix: "use book or candles_1m")
            }
            volatilitySource = source
        case "context.vwap_window": context.vwapWindow = Int64(try setting.seconds(example: "3600") * 1e9)
        case "context.profile_window":
            context.profileWindow = setting.isAbsent(["session"]) ? nil : Int64(try setting.seconds(example: "3600") * 1e9)
        case "context.profile_row_ticks": context.profileRowTicks = try setting.integer(1 ... 1_000_000)
        case "context.value_area": context.valueArea = try setting.number(0.01 ... 1)
        case "context.backfill":
            backfill = setting.isAbsent(["none", "off", "0"]) ? 0 : try setting.seconds(example: "86400")
            guard backfill <= 30 * 86_400 else { throw setting.invalid("\(value) is more than 30 days of 1m candles", fix: "use at most 2592000 (30 days), e.g. 86400") }
        case "context.require_backfill": requireBackfill = try setting.bool()
        default: return false
        }
        return true
    }

    /// What the decision reads; `staleAfterSeconds`: no market event this long halts quoting.
    public func policy(staleAfterSeconds: Double) -> MarketMakingStrategy.Policy {
        var policy = MarketMakingStrategy.Policy()
        policy.enabled = enabled
        policy.model = model
        // The model quotes with the fee its venue charges: the paper venue's here (a live venue's from its fills).
        policy.model.makerFee = paper.makerFeeRate.doubleValue
        policy.orderSize = orderSize
        policy.levelSizes = levelSizes
        policy.orderLevels = orderLevels
        policy.levelSpacingTicks = levelSpacingTicks
        policy.refreshToleranceTicks = refreshToleranceTicks
        policy.maxOrderAge = Int64(maxOrderAge * 1e9)
        policy.quoteInterval = quoteIntervalMilliseconds * 1_000_000
        policy.maxActivePerSide = maxActivePerSide
        policy.ordersPerSecond = ordersPerSecond
        policy.risk = risk
        policy.staleAfter = Int64(staleAfterSeconds * 1e9)
        policy.context = context
        policy.volatilitySource = volatilitySource
        policy.fairValue = fairValue
        policy.imbalanceLevels = imbalanceLevels
        policy.toxicity = toxicity
        return policy
    }

    /// What only makes sense together: a fixed spread must pay its round trip's fees and edge.
    public func validate() throws(ConnectorSettings.Invalid) {
        // The model as the strategy gets it: with the venue's maker fee.
        let floor = QuoteModel(parameters: policy(staleAfterSeconds: 0).model).floorBps
        if model.mode == .fixed && model.fixedSpreadBps < floor {
            throw ConnectorSettings.Invalid(
                key: "strategy.fixed_spread_bps",
                problem: "\(model.fixedSpreadBps) bp is inside the round trip's fees: 2 × strategy.maker_fee \(paper.makerFeeRate) + strategy.min_edge_bps \(model.minEdgeBps) = \(floor) bp",
                fix: "set strategy.fixed_spread_bps to at least \(floor), or lower strategy.min_edge_bps")
        }
    }

    /// The instrument grid the strategy quotes on.
    public func instrument(_ symbol: String) -> Instrument {
        Instrument(symbol: symbol, tickSize: tickSize, qtyStep: qtyStep, minQty: minQty)
    }

    /// `key: value` lines for `keel config check`.
    public var report: [(String, String)] {
        func text(_ value: FixedDecimal?) -> String { value.map { "\($0)" } ?? "none" }
        return [
            ("strategy.enabled", "\(enabled)"), ("strategy.paper_trading", "\(paperTrading)"), ("strategy.symbol", symbol ?? "(first of exchange.symbols)"),
            ("strategy.model", model.mode.rawValue), ("strategy.gamma", "\(model.gamma)"), ("strategy.fill_a", model.a.map { "\($0)" } ?? "auto"),
            ("strategy.fill_k", model.k.map { "\($0)" } ?? "auto"), ("strategy.volatility_bps", "\(model.volatilityBps)"),
            ("strategy.enable_dynamic_spread", "\(model.enableDynamicSpread)"), ("strategy.enable_inventory_skew", "\(model.enableInventorySkew)"),
            ("strategy.volatility_source", volatilitySource.rawValue), ("context.vwap_window", "\(Double(context.vwapWindow) / 1e9)"),
            ("context.profile_window", context.profileWindow.map { "\(Double($0) / 1e9)" } ?? "session"),
            ("context.profile_row_ticks", "\(context.profileRowTicks)"), ("context.value_area", "\(context.valueArea)"),
            ("context.backfill", "\(backfill)"), ("context.require_backfill", "\(requireBackfill)"),
            ("strategy.min_spread_bps", "\(model.minSpreadBps)"), ("strategy.fixed_spread_bps", "\(model.fixedSpreadBps)"),
            ("strategy.fixed_skew_bps", "\(model.fixedSkewBps)"), ("strategy.touch_offset_ticks", "\(model.touchOffsetTicks)"), ("strategy.order_size", "\(orderSize)"),
            ("strategy.level_sizes", levelSizes.isEmpty ? "(order_size at every level)" : levelSizes.map { "\($0)" }.joined(separator: ",")),
            ("strategy.order_levels", "\(orderLevels)"), ("strategy.level_spacing_ticks", "\(levelSpacingTicks)"), ("strategy.tick_size", "\(tickSize)"),
            ("strategy.qty_step", "\(qtyStep)"), ("strategy.min_qty", "\(minQty)"), ("strategy.refresh_tolerance_ticks", "\(refreshToleranceTicks)"),
            ("strategy.max_order_age", "\(maxOrderAge)"), ("strategy.quote_interval_ms", "\(quoteIntervalMilliseconds)"),
            ("strategy.orders_per_second", "\(ordersPerSecond)"), ("strategy.paper_latency_ms", "\(paper.latency / 1_000_000)"),
            ("strategy.maker_fee", "\(paper.makerFeeRate)"), ("strategy.taker_fee", "\(paper.takerFeeRate)"),
            ("strategy.min_edge_bps", "\(model.minEdgeBps)"), ("strategy.fair_value", fairValue.mode.rawValue),
            ("strategy.imbalance_coefficient", fairValue.coefficient.map { "\($0)" } ?? "auto"), ("strategy.imbalance_levels", "\(imbalanceLevels)"),
            ("strategy.toxicity_bps", toxicity.thresholdBps.map { "\($0)" } ?? "none"),
            ("strategy.toxicity_horizon", Markouts.name(Markouts.horizons[toxicity.horizon])), ("strategy.toxicity_min_fills", "\(toxicity.minimumFills)"),
            ("strategy.toxicity_action", toxicity.action.rawValue), ("strategy.toxicity_widen_bps", "\(toxicity.widenBps)"),
            ("strategy.toxicity_pause", "\(Double(toxicity.pause) / 1e9)"), ("strategy.adopt_orders", "\(adoptOrders)"),
            ("risk.max_position", text(risk.maxPosition)), ("risk.max_notional", text(risk.maxNotional)), ("risk.max_order_qty", text(risk.maxOrderQty)),
            ("risk.enable_kill_switch", "\(risk.enableKillSwitch)"), ("risk.max_drawdown", text(risk.maxDrawdown)), ("risk.max_loss", text(risk.maxLoss)),
            ("risk.max_consecutive_losses", "\(risk.maxConsecutiveLosses)"), ("limits.max_active_per_side", "\(maxActivePerSide)"),
        ]
    }
}

import Backtest
import Execution
import Market
import Strategy

/// The touch quoter of `bench/compare-backtest.sh` on the shared capture's grid: one order a side at the touch,
/// a decision at most every 100 ms, the position within ±0.05, no drawdown, loss or losing-streak limit.
func touchQuoterOptions(latency: Int64 = 20_000_000) -> Backtester.Options {
    func d(_ text: String) -> FixedDecimal { try! FixedDecimal(parsing: text) }
    var policy = MarketMakingStrategy.Policy()
    policy.model.mode = .touch
    policy.model.touchOffsetTicks = 0
    policy.model.minSpreadBps = 0
    policy.quoteInterval = 100_000_000
    policy.risk.maxPosition = d("0.05")
    policy.risk.maxDrawdown = nil
    policy.risk.maxLoss = nil
    policy.risk.maxConsecutiveLosses = 0
    var venue = PaperExchange.Configuration()
    venue.latency = latency
    return Backtester.Options(exchange: .binanceUSDM, policy: policy, tickSize: d("0.1"), qtyStep: d("0.001"), minQty: d("0.001"), venue: venue)
}

import Histogram

/// Latency samples as `keel bench` reports them: nanoseconds into an HdrHistogram (1 ns to 10 s, three
/// significant digits), read back in microseconds to two decimals.
struct LatencyHistogram {
    private var histogram = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)

    init(_ nanoseconds: [Int64]) {
        for sample in nanoseconds { histogram.record(UInt64(max(1, sample))) }
    }

    var count: Int { Int(histogram.totalCount) }

    /// The value at `percentile` (0–100), µs.
    func microseconds(at percentile: Double) -> Double { Self.micros(histogram.valueAtPercentile(percentile)) }

    var maxMicroseconds: Double { Self.micros(histogram.max) }

    private static func micros(_ nanoseconds: UInt64) -> Double { (Double(nanoseconds) / 10).rounded() / 100 }
}

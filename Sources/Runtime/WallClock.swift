#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one wall clock of the shell: UTC nanoseconds since the Unix epoch. Pure modules never read it;
/// the shell stamps events with it and passes the time in.
public enum WallClock {
    public static func nanoseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}

extension Duration {
    /// The duration in seconds, as a measurement (logs, summaries); never for money.
    public var inSeconds: Double { Double(inNanoseconds) / 1e9 }

    public var inNanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// Per-topic silence watch: a topic with no message for its threshold is stale. A pong proves the
/// socket, not the feed — data can stop while pongs still come back — so feeds are watched by topic.
/// Pure: the caller passes the time.
public struct StaleFeedDetector: Sendable {
    public struct Stale: Sendable, Equatable {
        public var topic: String
        public var silentNanoseconds: Int64
        public var thresholdNanoseconds: Int64
    }

    private var thresholds: [String: Int64] = [:]
    private var lastSeen: [String: Int64] = [:]

    public init() {}

    /// Starts watching `topic` from `now` (its grace starts with the subscription).
    public mutating func watch(_ topic: String, threshold: Duration, from now: Int64) {
        thresholds[topic] = threshold.components.seconds * 1_000_000_000 + threshold.components.attoseconds / 1_000_000_000
        lastSeen[topic] = now
    }

    public mutating func forget(_ topic: String) {
        thresholds[topic] = nil
        lastSeen[topic] = nil
    }

    public mutating func forgetAll() {
        thresholds.removeAll()
        lastSeen.removeAll()
    }

    public mutating func record(_ topic: String, at now: Int64) {
        if thresholds[topic] != nil { lastSeen[topic] = now }
    }

    /// How long ago `topic` last spoke.
    public func age(_ topic: String, now: Int64) -> Int64? { lastSeen[topic].map { now - $0 } }

    /// The watched topics silent for longer than their threshold, in name order.
    public func stale(now: Int64) -> [Stale] {
        thresholds.keys.sorted().compactMap { topic in
            let silent = now - (lastSeen[topic] ?? now)
            let threshold = thresholds[topic]!
            return silent > threshold ? Stale(topic: topic, silentNanoseconds: silent, thresholdNanoseconds: threshold) : nil
        }
    }
}

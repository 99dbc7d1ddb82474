/// One line of a market-data recording: either a raw JSON message, or `<local_ns> <json>` as
/// hftbacktest's collector writes it (local receive time in UTC nanoseconds, a space, the message).
public struct RecordedLine {
    /// The local receive time, UTC nanoseconds; 0 when the line carries none.
    public var receiveTime: Int64
    /// The JSON message.
    public var message: UnsafeRawBufferPointer

    /// Splits a line (without its newline). A leading run of digits followed by a space is the
    /// timestamp; anything else is taken as the message itself. A trailing `\r` is dropped.
    @inlinable
    public init(_ line: UnsafeRawBufferPointer) {
        var end = line.count
        if end > 0 && line[end - 1] == 0x0D { end -= 1 }
        let clipped = UnsafeRawBufferPointer(rebasing: line[0..<end])
        // Up to 19 digits: a nanosecond stamp fits Int64 until 2262; 20 digits or more is not a stamp.
        var (stamp, index) = Digits.run(clipped, from: 0, limit: 19)
        let overflow = stamp < 0 || (index == 19 && index < end && line[index] &- 48 < 10)
        if overflow { stamp = 0 }
        if index > 0 && index < end && line[index] == 0x20 && !overflow {
            receiveTime = stamp
            message = UnsafeRawBufferPointer(rebasing: line[(index + 1)..<end])
        } else {
            receiveTime = 0
            message = UnsafeRawBufferPointer(rebasing: line[0..<end])
        }
    }
}

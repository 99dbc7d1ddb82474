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
        var index = 0
        var stamp: Int64 = 0
        var overflow = false
        while index < end, case let digit = line[index] &- 48, digit < 10 {
            let (times10, o1) = stamp.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int64(digit))
            overflow = overflow || o1 || o2
            stamp = next
            index += 1
        }
        if index > 0 && index < end && line[index] == 0x20 && !overflow {
            receiveTime = stamp
            message = UnsafeRawBufferPointer(rebasing: line[(index + 1)..<end])
        } else {
            receiveTime = 0
            message = UnsafeRawBufferPointer(rebasing: line[0..<end])
        }
    }
}

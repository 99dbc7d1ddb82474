/// Digit-run parsing eight bytes at a time (SWAR): exchange ids and timestamps are 13–19 digits,
/// and a digit-by-digit loop is a chain of dependent multiply-adds.
@usableFromInline
enum Digits {
    /// The value of 8 ASCII digits loaded little-endian (first digit in the lowest byte), or `nil`
    /// when any byte is not a digit.
    @inlinable @inline(__always)
    static func eight(_ word: UInt64) -> UInt64? {
        let low = word &- 0x3030_3030_3030_3030
        // Every byte must be 0x30…0x39: high nibble 3, and adding 6 must not carry out of the low nibble.
        guard (word & 0xF0F0_F0F0_F0F0_F0F0) == 0x3030_3030_3030_3030,
              ((word &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) == 0x3030_3030_3030_3030
        else { return nil }
        var value = low
        value = (value &* 10 &+ (value >> 8)) & 0x00FF_00FF_00FF_00FF
        value = (value &* 100 &+ (value >> 16)) & 0x0000_FFFF_0000_FFFF
        value = (value &* 10_000 &+ (value >> 32)) & 0x0000_0000_FFFF_FFFF
        return value
    }

    /// Parses the run of ASCII digits starting at `start` (at most `limit` of them): its value and
    /// length. Overflow is the caller's to rule out by bounding `limit` (≤ 18 fits `Int64`).
    @inlinable @inline(__always)
    static func run(_ buffer: UnsafeRawBufferPointer, from start: Int, limit: Int) -> (value: Int64, length: Int) {
        var index = start
        var value: UInt64 = 0
        let end = Swift.min(buffer.count, start &+ limit)
        while index &+ 8 <= end, let chunk = eight(buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self)) {
            value = value &* 100_000_000 &+ chunk
            index &+= 8
        }
        while index < end {
            let digit = buffer[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            value = value &* 10 &+ UInt64(digit)
            index &+= 1
        }
        return (Int64(bitPattern: value), index &- start)
    }
}

/// Why a JSON message could not be read, and where (byte offset from the start of the message).
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case unexpectedEnd
        case unexpectedByte(UInt8)
        case invalidNumber
        case invalidDecimal(DecimalError)
        case integerOverflow
        case invalidEscape
        case controlCharacterInString
        case tooDeep
        case trailingBytes
        /// The value is valid JSON but not of the type the message shape needs.
        case typeMismatch(expected: String)
        /// A field the message shape needs is absent.
        case missingField(String)
        /// A field holds a value the message shape does not allow.
        case invalidValue(field: String)
    }

    public var kind: Kind
    public var offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch kind {
        case .unexpectedEnd: what = "message ends too early"
        case .unexpectedByte(let byte):
            what = (32..<127).contains(byte)
                ? "unexpected character '\(Character(Unicode.Scalar(byte)))'" : "unexpected byte 0x\(String(byte, radix: 16))"
        case .invalidNumber: what = "invalid number"
        case .invalidDecimal(let error): what = "invalid decimal: \(error)"
        case .integerOverflow: what = "integer does not fit 64 bits"
        case .invalidEscape: what = "invalid escape in string"
        case .controlCharacterInString: what = "control character inside a string"
        case .tooDeep: what = "nesting deeper than \(JSONScanner.maxDepth)"
        case .trailingBytes: what = "bytes after the end of the message"
        case .typeMismatch(let expected): what = "expected \(expected)"
        case .missingField(let field): what = "missing field \"\(field)\""
        case .invalidValue(let field): what = "invalid value for \"\(field)\""
        }
        return "\(what) at byte \(offset)"
    }
}

/// The kind of the next JSON value, read from its first byte.
public enum JSONValueKind: Sendable, Equatable {
    case object, array, string, number, bool, null
}

/// A JSON string as it stands in the message (between the quotes, escapes not yet decoded).
/// Valid only while the scanned buffer is.
public struct JSONString {
    public let bytes: UnsafeRawBufferPointer
    public let hasEscapes: Bool

    @inlinable
    public init(bytes: UnsafeRawBufferPointer, hasEscapes: Bool) {
        self.bytes = bytes
        self.hasEscapes = hasEscapes
    }

    public var count: Int { bytes.count }

    /// Byte-for-byte comparison with a literal (for keys and enum values, which never need escapes).
    @inlinable @inline(__always)
    public func equals(_ literal: StaticString) -> Bool {
        literal.utf8CodeUnitCount == bytes.count && matches(literal, at: 0)
    }

    @inlinable
    public func hasPrefix(_ literal: StaticString) -> Bool {
        literal.utf8CodeUnitCount <= bytes.count && matches(literal, at: 0)
    }

    @inlinable
    public func hasSuffix(_ literal: StaticString) -> Bool {
        literal.utf8CodeUnitCount <= bytes.count && matches(literal, at: bytes.count &- literal.utf8CodeUnitCount)
    }

    /// Whether the bytes from `start` are `literal`'s (which must fit); never for a string with escapes.
    @inlinable @inline(__always)
    func matches(_ literal: StaticString, at start: Int) -> Bool {
        guard !hasEscapes else { return false }
        let other = literal.utf8Start
        for index in 0..<literal.utf8CodeUnitCount where bytes[start &+ index] != other[index] { return false }
        return true
    }

    /// The decoded string value.
    public var string: String {
        if !hasEscapes { return String(decoding: bytes, as: UTF8.self) }
        return JSONString.unescape(bytes)
    }

    static func unescape(_ bytes: UnsafeRawBufferPointer) -> String {
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        var index = 0
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll()
            }
        }
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for offset in 0..<4 {
                guard let digit = hexValue(bytes[at + offset]) else { return nil }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < bytes.count else {
                utf8.append(byte)
                index += 1
                continue
            }
            let escaped = bytes[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "n"): utf8.append(10)
            case UInt8(ascii: "t"): utf8.append(9)
            case UInt8(ascii: "r"): utf8.append(13)
            case UInt8(ascii: "b"): utf8.append(8)
            case UInt8(ascii: "f"): utf8.append(12)
            case UInt8(ascii: "u"):
                guard var code = hex4(index) else { continue }
                index += 4
                if (0xD800..<0xDC00).contains(code), index + 6 <= bytes.count,
                   bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                   let low = hex4(index + 2), (0xDC00..<0xE000).contains(low) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                flush()
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default: utf8.append(escaped)
            }
        }
        flush()
        return String(scalars)
    }
}

@inlinable
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Position inside an object or array being walked: how many members were read so far.
public struct JSONContainer {
    @usableFromInline var members = 0
    @inlinable init() {}
}

/// The one JSON reader of Keel's hot path: a pull scanner over raw bytes.
///
/// It walks a message in place — keys and strings come back as views into the buffer, numbers are
/// parsed straight into `Int64` or `FixedDecimal` — so decoding a book update allocates nothing per
/// level. Keys may come in any order and unknown ones are skipped with `skipValue()`. Every
/// malformed input ends in a `JSONError` with its byte offset; nothing traps.
///
///     var scanner = JSONScanner(bytes)
///     var object = try scanner.beginObject()
///     while let key = try scanner.nextKey(in: &object) {
///         if key.equals("u") { id = try scanner.readInt64() } else { try scanner.skipValue() }
///     }
public struct JSONScanner {
    public static let maxDepth = 128

    @usableFromInline let buffer: UnsafeRawBufferPointer
    /// The byte offset of the next unread byte.
    public var offset: Int

    @inlinable
    public init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    @inlinable
    public var isAtEnd: Bool { offset >= buffer.count }

    // MARK: Bytes

    @inlinable
    func error(_ kind: JSONError.Kind) -> JSONError { JSONError(kind, at: offset) }

    @inlinable
    mutating func skipWhitespace() {
        while offset < buffer.count {
            let byte = buffer[offset]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            offset &+= 1
        }
    }

    /// The next non-space byte, not consumed.
    @inlinable @inline(__always)
    mutating func peekByte() throws(JSONError) -> UInt8 {
        // Compact JSON (what exchanges send) has no whitespace between tokens.
        if offset < buffer.count {
            let byte = buffer[offset]
            if byte > 0x20 { return byte }
        }
        skipWhitespace()
        guard offset < buffer.count else { throw error(.unexpectedEnd) }
        return buffer[offset]
    }

    /// The kind of the next value, not consumed.
    @inlinable
    public mutating func peekKind() throws(JSONError) -> JSONValueKind {
        let byte = try peekByte()
        switch byte {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw error(.unexpectedByte(byte))
        }
    }

    // MARK: Containers

    @inlinable
    public mutating func beginObject() throws(JSONError) -> JSONContainer {
        let byte = try peekByte()
        guard byte == UInt8(ascii: "{") else { throw error(.typeMismatch(expected: "an object")) }
        offset &+= 1
        return JSONContainer()
    }

    /// The next key of the object (its `:` consumed), or `nil` after the closing brace.
    @inlinable
    public mutating func nextKey(in container: inout JSONContainer) throws(JSONError) -> JSONString? {
        var byte = try peekByte()
        if byte == UInt8(ascii: "}") {
            offset &+= 1
            return nil
        }
        if container.members > 0 {
            guard byte == UInt8(ascii: ",") else { throw error(.unexpectedByte(byte)) }
            offset &+= 1
            byte = try peekByte()
        }
        guard byte == UInt8(ascii: "\"") else { throw error(.unexpectedByte(byte)) }
        let key = try readString()
        let colon = try peekByte()
        guard colon == UInt8(ascii: ":") else { throw error(.unexpectedByte(colon)) }
        offset &+= 1
        container.members &+= 1
        return key
    }

    @inlinable
    public mutating func beginArray() throws(JSONError) -> JSONContainer {
        let byte = try peekByte()
        guard byte == UInt8(ascii: "[") else { throw error(.typeMismatch(expected: "an array")) }
        offset &+= 1
        return JSONContainer()
    }

    /// Whether another element follows (its leading comma consumed); `false` after the closing bracket.
    @inlinable
    public mutating func nextElement(in container: inout JSONContainer) throws(JSONError) -> Bool {
        let byte = try peekByte()
        if byte == UInt8(ascii: "]") {
            offset &+= 1
            return false
        }
        if container.members > 0 {
            guard byte == UInt8(ascii: ",") else { throw error(.unexpectedByte(byte)) }
            offset &+= 1
        }
        container.members &+= 1
        return true
    }

    // MARK: Scalars

    /// Reads a string; the result views the buffer (escapes validated, not decoded).
    @inlinable
    public mutating func readString() throws(JSONError) -> JSONString {
        let byte = try peekByte()
        guard byte == UInt8(ascii: "\"") else { throw error(.typeMismatch(expected: "a string")) }
        let start = offset &+ 1
        var index = start
        var escaped = false
        let count = buffer.count
        // Eight bytes at a time until a word holds a quote, a backslash or a control byte.
        while index &+ 8 <= count {
            let word = buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let special = JSONScanner.specialBytes(word)
            if special != 0 {
                index &+= special.trailingZeroBitCount >> 3
                break
            }
            index &+= 8
        }
        while index < count {
            let byte = buffer[index]
            if byte == UInt8(ascii: "\"") {
                offset = index &+ 1
                return JSONString(bytes: UnsafeRawBufferPointer(rebasing: buffer[start..<index]), hasEscapes: escaped)
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                guard index &+ 1 < count else { break }
                switch buffer[index &+ 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index &+= 2
                case UInt8(ascii: "u"):
                    guard index &+ 6 <= count else { offset = index; throw error(.invalidEscape) }
                    for hex in (index &+ 2)..<(index &+ 6) where hexValue(buffer[hex]) == nil {
                        offset = index
                        throw error(.invalidEscape)
                    }
                    index &+= 6
                default:
                    offset = index
                    throw error(.invalidEscape)
                }
                continue
            }
            if byte < 0x20 {
                offset = index
                throw error(.controlCharacterInString)
            }
            index &+= 1
        }
        offset = count
        throw error(.unexpectedEnd)
    }

    /// A mask with the high bit set in each byte of `word` that is `"`, `\\` or below 0x20; the lowest
    /// set bit marks the first such byte (bytes are loaded little-endian, first byte lowest).
    @inlinable @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | control) & highs
    }

    /// The raw text of a number token (validated against JSON's number grammar).
    @inlinable
    mutating func readNumberToken() throws(JSONError) -> UnsafeRawBufferPointer {
        _ = try peekByte()
        let start = offset
        let count = buffer.count
        var index = offset
        if index < count && buffer[index] == UInt8(ascii: "-") { index &+= 1 }
        var integerDigits = 0
        while index < count && buffer[index] &- UInt8(ascii: "0") < 10 { index &+= 1; integerDigits &+= 1 }
        guard integerDigits > 0 else { offset = index; throw error(.invalidNumber) }
        if integerDigits > 1 && buffer[start + (buffer[start] == UInt8(ascii: "-") ? 1 : 0)] == UInt8(ascii: "0") {
            throw error(.invalidNumber)
        }
        if index < count && buffer[index] == UInt8(ascii: ".") {
            index &+= 1
            var fractionDigits = 0
            while index < count && buffer[index] &- UInt8(ascii: "0") < 10 { index &+= 1; fractionDigits &+= 1 }
            guard fractionDigits > 0 else { offset = index; throw error(.invalidNumber) }
        }
        if index < count && (buffer[index] == UInt8(ascii: "e") || buffer[index] == UInt8(ascii: "E")) {
            index &+= 1
            if index < count && (buffer[index] == UInt8(ascii: "+") || buffer[index] == UInt8(ascii: "-")) { index &+= 1 }
            var exponentDigits = 0
            while index < count && buffer[index] &- UInt8(ascii: "0") < 10 { index &+= 1; exponentDigits &+= 1 }
            guard exponentDigits > 0 else { offset = index; throw error(.invalidNumber) }
        }
        offset = index
        return UnsafeRawBufferPointer(rebasing: buffer[start..<index])
    }

    /// The text of a number given either bare (`42`, `1.5e3`) or as a string (`"42"`, `"30247.20"`,
    /// the exchanges' way); a string with escapes is not a number.
    @inlinable
    public mutating func readNumberText() throws(JSONError) -> UnsafeRawBufferPointer {
        guard try peekByte() == UInt8(ascii: "\"") else { return try readNumberToken() }
        let start = offset
        let string = try readString()
        guard !string.hasEscapes else { throw JSONError(.invalidNumber, at: start) }
        return string.bytes
    }

    /// Reads an integer given as a JSON number or as a string of digits (`"1747722930000"`).
    @inlinable
    public mutating func readInt64() throws(JSONError) -> Int64 {
        if let value = readPlainInteger() { return value }
        let start = offset
        let text = try readNumberText()
        guard let value = JSONScanner.parseInt64(text) else {
            skipWhitespace()
            throw JSONError(text.isEmpty ? .invalidNumber : .integerOverflow, at: start)
        }
        return value
    }

    /// The common case in one pass: 1–18 bare digits followed by a delimiter. Returns `nil`
    /// (consuming nothing) for anything else, which the general path then handles.
    @inlinable @inline(__always)
    mutating func readPlainInteger() -> Int64? {
        let count = buffer.count
        let (value, digits) = Digits.run(buffer, from: offset, limit: 19)
        let index = offset &+ digits
        guard digits > 0, digits <= 18, index < count else { return nil }
        if digits > 1 && buffer[offset] == UInt8(ascii: "0") { return nil }
        let next = buffer[index]
        guard next == UInt8(ascii: ",") || next == UInt8(ascii: "}") || next == UInt8(ascii: "]") else { return nil }
        offset = index
        return value
    }

    /// Parses a decimal integer (optional `-`, digits only); `nil` when malformed or out of range.
    @inlinable
    public static func parseInt64(_ text: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        var negative = false
        if text.count > 0 && text[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
        }
        guard index < text.count else { return nil }
        var value: Int64 = 0
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative
                ? times10.subtractingReportingOverflow(Int64(digit))
                : times10.addingReportingOverflow(Int64(digit))
            guard !overflow1 && !overflow2 else { return nil }
            value = next
            index &+= 1
        }
        return value
    }

    /// Reads an exact decimal given as a string (`"30247.20"`, the exchanges' way) or a number.
    @inlinable
    public mutating func readDecimal() throws(JSONError) -> FixedDecimal {
        if let value = readPlainQuotedDecimal() { return value }
        _ = try peekByte()
        let start = offset
        let text = try readNumberText()
        do throws(DecimalError) {
            return try FixedDecimal.parse(text)
        } catch {
            throw JSONError(.invalidDecimal(error), at: start)
        }
    }

    /// The common case in one pass: `"digits[.digits]"` with at most 18 digits, no sign or exponent.
    /// Returns `nil` (consuming nothing) for anything else, which the general path then handles.
    @inlinable
    mutating func readPlainQuotedDecimal() -> FixedDecimal? {
        let count = buffer.count
        var index = offset
        guard index < count, buffer[index] == UInt8(ascii: "\"") else { return nil }
        index &+= 1
        // The whole digits, then the fraction's: two tight loops, each ending at its one kind of byte.
        var mantissa: Int64 = 0
        let whole = index
        while index < count {
            let digit = buffer[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            mantissa = mantissa &* 10 &+ Int64(digit)
            index &+= 1
        }
        let wholeDigits = index &- whole
        guard index < count else { return nil }
        var fractionDigits = 0
        if buffer[index] == UInt8(ascii: ".") {
            index &+= 1
            let fraction = index
            while index < count {
                let digit = buffer[index] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                mantissa = mantissa &* 10 &+ Int64(digit)
                index &+= 1
            }
            fractionDigits = index &- fraction
            guard fractionDigits > 0, index < count else { return nil }
        }
        guard buffer[index] == UInt8(ascii: "\""), wholeDigits &+ fractionDigits > 0, wholeDigits &+ fractionDigits <= 18 else { return nil }
        offset = index &+ 1
        return FixedDecimal(mantissa: mantissa, scale: UInt8(truncatingIfNeeded: fractionDigits))
    }

    /// `["price","size"]` as both exchanges write a level — no spaces, two plain quoted decimals — in one
    /// pass; `nil` (consuming nothing) for anything else, which the general path then reads.
    @inlinable
    mutating func readPlainLevel() -> PriceLevel? {
        let start = offset
        guard offset < buffer.count, buffer[offset] == UInt8(ascii: "[") else { return nil }
        offset &+= 1
        if let price = readPlainQuotedDecimal(), offset < buffer.count, buffer[offset] == UInt8(ascii: ",") {
            offset &+= 1
            if let size = readPlainQuotedDecimal(), offset < buffer.count, buffer[offset] == UInt8(ascii: "]") {
                offset &+= 1
                return PriceLevel(price: price, qty: size)
            }
        }
        offset = start
        return nil
    }

    @inlinable
    public mutating func readBool() throws(JSONError) -> Bool {
        let byte = try peekByte()
        if byte == UInt8(ascii: "t") {
            try expectLiteral("true")
            return true
        }
        if byte == UInt8(ascii: "f") {
            try expectLiteral("false")
            return false
        }
        throw error(.typeMismatch(expected: "a boolean"))
    }

    /// Consumes `null` and returns true, or returns false and consumes nothing.
    @inlinable
    public mutating func readNullIfPresent() throws(JSONError) -> Bool {
        guard try peekByte() == UInt8(ascii: "n") else { return false }
        try expectLiteral("null")
        return true
    }

    /// Consumes `literal` when the bytes at the offset are exactly it (no whitespace skipped); otherwise
    /// consumes nothing. For reading a message laid out as its sender always writes it — the keys in their
    /// order, no spaces — with a general reader to fall back on at the first difference.
    @inlinable @inline(__always)
    public mutating func consume(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard offset &+ count <= buffer.count else { return false }
        let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: count)
        let here = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset &+ count)])
        if count >= 8 {
            // Whole words, the last one overlapping the one before when the length is not a multiple of 8.
            var index = 0
            while true {
                guard here.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        == expected.loadUnaligned(fromByteOffset: index, as: UInt64.self) else { return false }
                if index &+ 8 == count { break }
                index = Swift.min(index &+ 8, count &- 8)
            }
        } else if count >= 4 {
            guard here.loadUnaligned(as: UInt32.self) == expected.loadUnaligned(as: UInt32.self),
                  here.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self)
                    == expected.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self) else { return false }
        } else {
            for index in 0..<count where here[index] != expected[index] { return false }
        }
        offset &+= count
        return true
    }

    @inlinable
    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard offset + count <= buffer.count else { throw error(.unexpectedEnd) }
        let bytes = literal.utf8Start
        for index in 0..<count where buffer[offset + index] != bytes[index] {
            offset += index
            throw error(.unexpectedByte(buffer[offset]))
        }
        offset += count
    }

    // MARK: Skipping

    /// Skips one value of any kind, checking that it is well-formed JSON.
    public mutating func skipValue() throws(JSONError) {
        try skipValue(depth: 0)
    }

    mutating func skipValue(depth: Int) throws(JSONError) {
        guard depth < JSONScanner.maxDepth else { throw error(.tooDeep) }
        switch try peekKind() {
        case .object:
            var object = try beginObject()
            while try nextKey(in: &object) != nil { try skipValue(depth: depth + 1) }
        case .array:
            var array = try beginArray()
            while try nextElement(in: &array) { try skipValue(depth: depth + 1) }
        case .string: _ = try readString()
        case .number: _ = try readNumberToken()
        case .bool: _ = try readBool()
        case .null: _ = try readNullIfPresent()
        }
    }

    /// Skips one value and returns the offset where it starts, so it can be read later with
    /// `rewound(to:)` (e.g. a `data` field that arrives before the `topic` saying what it is).
    public mutating func skipValueMarkingStart() throws(JSONError) -> Int {
        skipWhitespace()
        let start = offset
        try skipValue()
        return start
    }

    /// A scanner over the same message positioned at `offset`.
    @inlinable
    public func rewound(to offset: Int) -> JSONScanner {
        JSONScanner(buffer, offset: offset)
    }

    /// Checks that only whitespace follows the message.
    @inlinable
    public mutating func finish() throws(JSONError) {
        skipWhitespace()
        guard offset == buffer.count else { throw error(.trailingBytes) }
    }
}

extension JSONString {
    /// Byte-for-byte comparison with a `String` (native UTF-8 storage, no decoding).
    @inlinable
    public func equals(_ other: String) -> Bool {
        guard !hasEscapes, other.utf8.count == bytes.count else { return false }
        let same = other.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            for index in 0..<utf8.count where utf8[index] != bytes[index] { return false }
            return true
        }
        return same ?? other.utf8.elementsEqual(bytes)
    }
}

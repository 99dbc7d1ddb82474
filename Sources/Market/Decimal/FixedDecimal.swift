/// An exact decimal number: `mantissa × 10^-scale`, for prices and quantities.
///
/// Parsed from the exchange's decimal strings without going through `Double`, so `"30247.20"` is
/// stored as mantissa 3024720 at scale 2 and formats back as `"30247.20"`. Equality, hashing and
/// ordering compare values (`1.5 == 1.50`); `description` keeps the scale it was given.
/// Up to 18 significant digits and 18 fractional digits are supported; arithmetic traps on
/// overflow like `Int`, and the `…ReportingOverflow` forms return `nil` instead.
public struct FixedDecimal: Sendable {
    public var mantissa: Int64
    public var scale: UInt8

    public static let maxScale: UInt8 = 18
    public static let zero = FixedDecimal(mantissa: 0, scale: 0)

    @inlinable
    public init(mantissa: Int64, scale: UInt8) {
        precondition(scale <= FixedDecimal.maxScale, "scale above 18")
        self.mantissa = mantissa
        self.scale = scale
    }

    public init(_ integer: Int) {
        self.init(mantissa: Int64(integer), scale: 0)
    }

    /// Parses a decimal string such as `"30247.20"`, `"-0.5"`, `"6203"`, `"1.5e-5"`.
    public init(parsing text: some StringProtocol) throws(DecimalError) {
        var copy = String(text)
        let parsed: Result<FixedDecimal, DecimalError> = copy.withUTF8 { utf8 in
            do throws(DecimalError) {
                return .success(try FixedDecimal.parse(UnsafeRawBufferPointer(utf8)))
            } catch {
                return .failure(error)
            }
        }
        self = try parsed.get()
    }

    @inlinable
    public var isZero: Bool { mantissa == 0 }
    @inlinable
    public var isNegative: Bool { mantissa < 0 }
    public var signum: Int { mantissa == 0 ? 0 : (mantissa < 0 ? -1 : 1) }
}

/// Why a decimal string was rejected. `offset` is the byte offset inside the number's text.
public enum DecimalError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case invalidCharacter(offset: Int)
    case missingDigits
    case tooManyDigits
    case exponentOutOfRange

    public var description: String {
        switch self {
        case .empty: return "empty number"
        case .invalidCharacter(let offset): return "invalid character at offset \(offset) of the number"
        case .missingDigits: return "number has no digits"
        case .tooManyDigits: return "number has more than 18 significant digits"
        case .exponentOutOfRange: return "exponent puts the number outside 18 fractional digits"
        }
    }
}

// MARK: - Parsing

extension FixedDecimal {
    @usableFromInline
    static let powersOfTen: [Int64] = {
        var table: [Int64] = [1]
        for _ in 1...18 { table.append(table.last! * 10) }
        return table
    }()

    @inlinable
    static func pow10(_ exponent: Int) -> Int64 { powersOfTen[exponent] }

    /// Parses the bytes of a decimal number (no quotes). Never traps: every malformed input is a
    /// `DecimalError`. Grammar: `[+-]digits[.digits][(e|E)[+-]digits]`, at least one digit.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(DecimalError) -> FixedDecimal {
        let count = bytes.count
        if count == 0 { throw .empty }
        var index = 0
        var negative = false
        let first = bytes[0]
        if first == UInt8(ascii: "-") {
            negative = true
            index = 1
        } else if first == UInt8(ascii: "+") {
            index = 1
        }
        var mantissa: Int64 = 0
        var significant = 0
        var digits = 0
        var fractionDigits = 0
        var seenPoint = false
        while index < count {
            let byte = bytes[index]
            let digit = byte &- UInt8(ascii: "0")
            if digit < 10 {
                digits += 1
                if seenPoint { fractionDigits += 1 }
                if mantissa != 0 || digit != 0 {
                    significant += 1
                    if significant > 18 { throw .tooManyDigits }
                }
                mantissa = mantissa &* 10 &+ Int64(digit)
            } else if byte == UInt8(ascii: ".") && !seenPoint {
                seenPoint = true
            } else {
                break
            }
            index += 1
        }
        if digits == 0 { throw .missingDigits }
        var exponent = 0
        if index < count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") else {
                throw .invalidCharacter(offset: index)
            }
            index += 1
            var exponentNegative = false
            if index < count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var exponentDigits = 0
            while index < count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { throw .invalidCharacter(offset: index) }
                exponent = exponent * 10 + Int(digit)
                if exponent > 1000 { throw .exponentOutOfRange }
                exponentDigits += 1
                index += 1
            }
            if exponentDigits == 0 { throw .missingDigits }
            if exponentNegative { exponent = -exponent }
        }
        var scale = fractionDigits - exponent
        if scale < 0 {
            // A positive exponent beyond the fraction: multiply out to an integer.
            guard mantissa == 0 || significant - scale <= 18 else { throw .tooManyDigits }
            mantissa = mantissa == 0 ? 0 : mantissa * pow10(-scale)
            scale = 0
        }
        if scale > Int(maxScale) {
            // Trailing zeros may bring it back into range ("1.000…0e-3").
            while scale > Int(maxScale), mantissa % 10 == 0 {
                mantissa /= 10
                scale -= 1
            }
            if mantissa == 0 { scale = Int(maxScale) }
            guard scale <= Int(maxScale) else { throw .exponentOutOfRange }
        }
        return FixedDecimal(mantissa: negative ? -mantissa : mantissa, scale: UInt8(scale))
    }
}

// MARK: - Formatting

extension FixedDecimal: CustomStringConvertible, LosslessStringConvertible {
    public init?(_ description: String) {
        guard let value = try? FixedDecimal(parsing: description) else { return nil }
        self = value
    }

    /// Appends the plain decimal form (as `description` spells it) to `bytes`, without a `String`.
    public func write(to bytes: inout [UInt8]) {
        // Right to left into a stack buffer (sign, digits, the point), then one append.
        var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var magnitude = mantissa.magnitude
        let scale = Int(self.scale)
        withUnsafeMutableBytes(of: &text) { buffer in
            var start = buffer.count
            var digits = 0
            // At least scale + 1 digits, so "0.005" keeps its leading zero.
            repeat {
                if digits == scale && scale > 0 {
                    start -= 1
                    buffer[start] = UInt8(ascii: ".")
                }
                start -= 1
                buffer[start] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 48
                magnitude /= 10
                digits += 1
            } while magnitude > 0 || digits <= scale
            if mantissa < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// The plain decimal form at this value's scale: `"30247.20"`, `"-0.005"`, `"6203"`.
    public var description: String {
        let magnitude = mantissa.magnitude
        var digits = String(magnitude)
        let scale = Int(self.scale)
        if scale > 0 {
            if digits.count <= scale {
                digits = String(repeating: "0", count: scale - digits.count + 1) + digits
            }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return mantissa < 0 ? "-" + digits : digits
    }
}

// MARK: - Scale

extension FixedDecimal {
    /// The same value with trailing fractional zeros removed (`"1.500"` → `"1.5"`).
    public var normalized: FixedDecimal {
        var result = self
        while result.scale > 0, result.mantissa % 10 == 0 {
            result.mantissa /= 10
            result.scale -= 1
        }
        return result
    }

    /// The value as an integer count of `10^-scale` units, or `nil` when that is inexact or overflows.
    @inlinable
    public func units(atScale target: UInt8) -> Int64? {
        if target == scale { return mantissa }
        if target > scale {
            let (product, overflow) = mantissa.multipliedReportingOverflow(by: FixedDecimal.pow10(Int(target - scale)))
            return overflow ? nil : product
        }
        let divisor = FixedDecimal.pow10(Int(scale - target))
        let (quotient, remainder) = mantissa.quotientAndRemainder(dividingBy: divisor)
        return remainder == 0 ? quotient : nil
    }

    /// The same value at a larger scale (`"1.5"` at scale 3 → `"1.500"`), or `nil` on overflow.
    public func rescaled(to target: UInt8) -> FixedDecimal? {
        guard target <= FixedDecimal.maxScale, let units = units(atScale: target) else { return nil }
        return FixedDecimal(mantissa: units, scale: target)
    }

    /// The smallest scale that holds this value exactly.
    public var minimalScale: UInt8 { normalized.scale }
}

// MARK: - Comparison

extension FixedDecimal: Equatable, Hashable, Comparable {
    @inlinable
    static func aligned(_ lhs: FixedDecimal, _ rhs: FixedDecimal) -> (Int128, Int128) {
        if lhs.scale == rhs.scale { return (Int128(lhs.mantissa), Int128(rhs.mantissa)) }
        if lhs.scale < rhs.scale {
            return (Int128(lhs.mantissa) * Int128(pow10(Int(rhs.scale - lhs.scale))), Int128(rhs.mantissa))
        }
        return (Int128(lhs.mantissa), Int128(rhs.mantissa) * Int128(pow10(Int(lhs.scale - rhs.scale))))
    }

    @inlinable
    public static func == (lhs: FixedDecimal, rhs: FixedDecimal) -> Bool {
        if lhs.scale == rhs.scale { return lhs.mantissa == rhs.mantissa }
        let (a, b) = aligned(lhs, rhs)
        return a == b
    }

    @inlinable
    public static func < (lhs: FixedDecimal, rhs: FixedDecimal) -> Bool {
        if lhs.scale == rhs.scale { return lhs.mantissa < rhs.mantissa }
        let (a, b) = aligned(lhs, rhs)
        return a < b
    }

    public func hash(into hasher: inout Hasher) {
        let value = normalized
        hasher.combine(value.mantissa)
        hasher.combine(value.scale)
    }
}

// MARK: - Arithmetic

/// How a result that does not fit the target scale is rounded.
public enum DecimalRounding: Sendable {
    case down        // toward zero
    case up          // away from zero
    case floor       // toward -infinity
    case ceiling     // toward +infinity
    case halfEven    // banker's rounding
}

extension FixedDecimal {
    @usableFromInline
    static func fromWide(_ value: Int128, scale: Int) -> FixedDecimal? {
        guard scale <= Int(maxScale), let mantissa = Int64(exactly: value) else { return nil }
        return FixedDecimal(mantissa: mantissa, scale: UInt8(scale))
    }

    /// Operands of one scale — most sums in a book or a ledger — add in 64 bits; others are aligned in 128.
    @inlinable
    public func addingReportingOverflow(_ other: FixedDecimal) -> FixedDecimal? {
        if scale == other.scale {
            let (sum, overflow) = mantissa.addingReportingOverflow(other.mantissa)
            return overflow ? nil : FixedDecimal(mantissa: sum, scale: scale)
        }
        return addingAligned(other)
    }

    @usableFromInline
    func addingAligned(_ other: FixedDecimal) -> FixedDecimal? {
        let (a, b) = FixedDecimal.aligned(self, other)
        return FixedDecimal.fromWide(a + b, scale: Int(Swift.max(scale, other.scale)))
    }

    /// A product that fits 64 bits at the operands' summed scale is that; others are reduced from 128 bits.
    @inlinable
    public func multipliedReportingOverflow(by other: FixedDecimal) -> FixedDecimal? {
        let scale = Int(self.scale) &+ Int(other.scale)
        if scale <= Int(FixedDecimal.maxScale) {
            let (product, overflow) = mantissa.multipliedReportingOverflow(by: other.mantissa)
            if !overflow { return FixedDecimal(mantissa: product, scale: UInt8(truncatingIfNeeded: scale)) }
        }
        return multipliedWide(by: other)
    }

    @usableFromInline
    func multipliedWide(by other: FixedDecimal) -> FixedDecimal? {
        var product = Int128(mantissa) * Int128(other.mantissa)
        var scale = Int(self.scale) + Int(other.scale)
        while scale > Int(FixedDecimal.maxScale) || Int64(exactly: product) == nil {
            guard scale > 0, product % 10 == 0 else { return nil }
            product /= 10
            scale -= 1
        }
        return FixedDecimal.fromWide(product, scale: scale)
    }

    @inlinable
    public static func + (lhs: FixedDecimal, rhs: FixedDecimal) -> FixedDecimal {
        guard let sum = lhs.addingReportingOverflow(rhs) else { preconditionFailure("FixedDecimal overflow in +") }
        return sum
    }

    @inlinable
    public static func - (lhs: FixedDecimal, rhs: FixedDecimal) -> FixedDecimal {
        lhs + (-rhs)
    }

    @inlinable
    public static prefix func - (value: FixedDecimal) -> FixedDecimal {
        FixedDecimal(mantissa: -value.mantissa, scale: value.scale)
    }

    @inlinable
    public static func * (lhs: FixedDecimal, rhs: FixedDecimal) -> FixedDecimal {
        guard let product = lhs.multipliedReportingOverflow(by: rhs) else {
            preconditionFailure("FixedDecimal overflow in *")
        }
        return product
    }

    @inlinable
    public static func += (lhs: inout FixedDecimal, rhs: FixedDecimal) { lhs = lhs + rhs }
    @inlinable
    public static func -= (lhs: inout FixedDecimal, rhs: FixedDecimal) { lhs = lhs - rhs }

    /// ⌊self / divisor⌋, an integer (what `divided(by:scale: 0, rounding: .floor)` gives, in 64 bits when the
    /// aligned operands fit them); `nil` on division by zero or overflow.
    @inlinable
    public func flooredQuotient(_ divisor: FixedDecimal) -> Int64? {
        let (wideA, wideB) = FixedDecimal.aligned(self, divisor)
        guard let a = Int64(exactly: wideA), let b = Int64(exactly: wideB), b != 0, !(a == .min && b == -1) else {
            return divided(by: divisor, scale: 0, rounding: .floor)?.mantissa
        }
        let (quotient, remainder) = a.quotientAndRemainder(dividingBy: b)
        return remainder != 0 && (remainder < 0) != (b < 0) ? quotient - 1 : quotient
    }

    /// `self / divisor` at `scale` fractional digits, rounded by `rounding`; `nil` on division by
    /// zero or overflow.
    public func divided(by divisor: FixedDecimal, scale: UInt8, rounding: DecimalRounding = .halfEven) -> FixedDecimal? {
        guard divisor.mantissa != 0, scale <= FixedDecimal.maxScale else { return nil }
        // self/divisor = (m1·10^-s1)/(m2·10^-s2); at scale s: q = m1·10^(s - s1 + s2) / m2.
        let shift = Int(scale) - Int(self.scale) + Int(divisor.scale)
        var numerator = Int128(mantissa)
        var denominator = Int128(divisor.mantissa)
        if shift >= 0 {
            guard shift <= 36 else { return nil }
            for _ in 0..<shift {
                let (next, overflow) = numerator.multipliedReportingOverflow(by: 10)
                if overflow { return nil }
                numerator = next
            }
        } else {
            for _ in 0..<(-shift) {
                let (next, overflow) = denominator.multipliedReportingOverflow(by: 10)
                if overflow { return nil }
                denominator = next
            }
        }
        let quotient = FixedDecimal.roundedQuotient(numerator, denominator, rounding)
        return FixedDecimal.fromWide(quotient, scale: Int(scale))
    }

    static func roundedQuotient(_ numerator: Int128, _ denominator: Int128, _ rounding: DecimalRounding) -> Int128 {
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        if remainder == 0 { return quotient }
        let positive = (numerator < 0) == (denominator < 0)
        let awayFromZero: Int128 = positive ? quotient + 1 : quotient - 1
        switch rounding {
        case .down: return quotient
        case .up: return awayFromZero
        case .floor: return positive ? quotient : awayFromZero
        case .ceiling: return positive ? awayFromZero : quotient
        case .halfEven:
            let twice = remainder.magnitude * 2
            let denominatorMagnitude = denominator.magnitude
            if twice > denominatorMagnitude { return awayFromZero }
            if twice < denominatorMagnitude { return quotient }
            return quotient % 2 == 0 ? quotient : awayFromZero
        }
    }

    /// The nearest multiple of `increment` (a tick or a lot step) in the direction `rounding` says;
    /// `nil` when `increment` is not positive.
    public func rounded(toMultipleOf increment: FixedDecimal, _ rounding: DecimalRounding) -> FixedDecimal? {
        guard increment.mantissa > 0,
              let steps = divided(by: increment, scale: 0, rounding: rounding),
              let mantissa = Int64(exactly: Int128(steps.mantissa) * Int128(increment.mantissa))
        else { return nil }
        // A multiple of the increment is written with the increment's decimals ("0.012" on a 0.001 grid).
        return FixedDecimal(mantissa: mantissa, scale: increment.scale)
    }

    /// An approximation for analytics and display only; never use it on the book or order path.
    @inlinable
    public var doubleValue: Double {
        Double(mantissa) / FixedDecimal.doublePow10(scale)
    }

    /// 10^exponent as a `Double` (exact for every scale a decimal has: 5^18 < 2^53), from a constant
    /// table rather than the lazily made `powersOfTen`, which analytics read on every trade.
    @inlinable
    static func doublePow10(_ exponent: UInt8) -> Double {
        switch exponent {
        case 0: 1
        case 1: 1e1
        case 2: 1e2
        case 3: 1e3
        case 4: 1e4
        case 5: 1e5
        case 6: 1e6
        case 7: 1e7
        case 8: 1e8
        case 9: 1e9
        case 10: 1e10
        case 11: 1e11
        case 12: 1e12
        case 13: 1e13
        case 14: 1e14
        case 15: 1e15
        case 16: 1e16
        case 17: 1e17
        default: 1e18
        }
    }
}

public typealias Price = FixedDecimal
public typealias Quantity = FixedDecimal

// MARK: - Codable

/// Encoded as a JSON string of the exact value; decoded from such a string, or from a JSON integer.
/// A JSON fraction is refused: it would have passed through `Double` on its way here.
extension FixedDecimal: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            do {
                self = try FixedDecimal(parsing: text)
            } catch {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not a decimal (\(error)); write it as a string like \"0.10\"")
            }
            return
        }
        if let integer = try? container.decode(Int64.self) {
            self = FixedDecimal(mantissa: integer, scale: 0)
            return
        }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a decimal as a string, like \"0.10\"")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

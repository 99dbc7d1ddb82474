/// UTC time as `Int64` nanoseconds since the Unix epoch, the one clock unit inside Keel.
///
/// Exchanges send milliseconds, microseconds, nanoseconds or ISO-8601 strings; they are normalised
/// here, at the edge. Pure: nothing in this type reads a clock.
public enum UTCTime {
    public typealias Nanoseconds = Int64

    public enum Unit: Sendable {
        case seconds, milliseconds, microseconds, nanoseconds
    }

    /// Converts an integer timestamp in `unit` to nanoseconds; `nil` on overflow.
    public static func nanoseconds(_ value: Int64, unit: Unit) -> Nanoseconds? {
        let factor: Int64
        switch unit {
        case .seconds: factor = 1_000_000_000
        case .milliseconds: factor = 1_000_000
        case .microseconds: factor = 1_000
        case .nanoseconds: return value
        }
        let (result, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : result
    }

    /// Milliseconds to nanoseconds, saturating instead of trapping on absurd input.
    @inlinable
    public static func fromMilliseconds(_ value: Int64) -> Nanoseconds {
        let (result, overflow) = value.multipliedReportingOverflow(by: 1_000_000)
        return overflow ? (value < 0 ? .min : .max) : result
    }

    /// Guesses the unit of an epoch timestamp from its magnitude (dates 1973–2286):
    /// 10 digits seconds, 13 milliseconds, 16 microseconds, 19 nanoseconds.
    public static func unit(ofEpochValue value: Int64) -> Unit {
        let magnitude = value.magnitude
        if magnitude < 100_000_000_000 { return .seconds }
        if magnitude < 100_000_000_000_000 { return .milliseconds }
        if magnitude < 100_000_000_000_000_000 { return .microseconds }
        return .nanoseconds
    }

    /// Normalises an epoch timestamp of unknown unit to nanoseconds.
    public static func normalize(_ value: Int64) -> Nanoseconds? {
        nanoseconds(value, unit: unit(ofEpochValue: value))
    }

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        public var description: String {
            switch self {
            case .malformed(let text):
                return "not an ISO-8601 UTC timestamp: \(text.prefix(64)) (expected e.g. 2024-08-08T23:54:15.030Z)"
            }
        }
    }

    /// Parses ISO-8601 `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`; a space may replace `T`.
    /// Fractions beyond nanoseconds are truncated.
    public static func parseISO8601(_ text: String) throws(ParseError) -> Nanoseconds {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int? {
            guard index + width <= bytes.count else { return nil }
            var value = 0
            for offset in 0..<width {
                let digit = Int(bytes[index + offset]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            index += width
            return value
        }
        func expect(_ options: [UInt8]) -> Bool {
            guard index < bytes.count, options.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect([45]), let month = number(2), expect([45]), let day = number(2),
              expect([84, 116, 32]), let hour = number(2), expect([58]), let minute = number(2), expect([58]),
              let second = number(2),
              (1...12).contains(month), (1...daysInMonth(year: year, month: month)).contains(day),
              hour < 24, minute < 60, second < 61
        else { throw .malformed(text) }
        var fraction: Int64 = 0
        if index < bytes.count, bytes[index] == 46 || bytes[index] == 44 {
            index += 1
            var digits = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                if digits < 9 { fraction = fraction * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { throw .malformed(text) }
            for _ in digits..<max(digits, 9) { fraction *= 10 }
        }
        var offsetSeconds = 0
        guard index < bytes.count else { throw .malformed(text) }
        if bytes[index] == 90 || bytes[index] == 122 {
            index += 1
        } else if bytes[index] == 43 || bytes[index] == 45 {
            let sign = bytes[index] == 45 ? -1 : 1
            index += 1
            guard let offsetHours = number(2) else { throw .malformed(text) }
            _ = expect([58])
            guard let offsetMinutes = number(2), offsetHours < 24, offsetMinutes < 60 else { throw .malformed(text) }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            throw .malformed(text)
        }
        guard index == bytes.count else { throw .malformed(text) }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return seconds * 1_000_000_000 + fraction
    }

    /// `2024-06-03T18:40:00.123Z`: ISO-8601 in UTC with milliseconds (the time field of every log line and API
    /// answer). Pure arithmetic, so any thread may call it at once — Foundation's shared formatters may not be.
    public static func formatISO8601(_ nanoseconds: Nanoseconds) -> String {
        let milliseconds = nanoseconds >= 0 ? nanoseconds / 1_000_000 : (nanoseconds - 999_999) / 1_000_000
        let millis = Int(((milliseconds % 1_000) + 1_000) % 1_000)
        let seconds = (milliseconds - Int64(millis)) / 1_000
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = civilFromDays(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):"
            + "\(pad(secondOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    /// The UTC day of a time: days since 1970-01-01 (floored, so times before 1970 land on their day).
    public static func day(_ nanoseconds: Nanoseconds) -> Int {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        return Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    }

    /// `20240808`: a UTC day as recordings name their files (`SYMBOL_YYYYMMDD.gz`).
    public static func dayStamp(day: Int) -> String {
        let (year, month, dayOfMonth) = civilFromDays(day)
        return String(year * 10_000 + month * 100 + dayOfMonth)
    }

    /// The date of a day count since 1970-01-01 (Howard Hinnant's algorithm, the inverse of `daysFromCivil`).
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

import Foundation
import Market

/// One bad configuration value: the key, what is wrong with it, and how to fix it.
public struct SettingError: Error, CustomStringConvertible, Equatable {
    public var key: String
    public var problem: String
    public var fix: String

    public init(key: String, problem: String, fix: String) {
        self.key = key
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "\(key): \(problem); \(fix)" }
}

/// One configuration value being read: its key (named in every error) and its text, with the parsers
/// the connector's, the bot's and the strategy's settings share.
public struct SettingValue: Sendable {
    public let key: String
    /// The text, trimmed.
    public let text: String

    public init(key: String, text: String) {
        self.key = key
        self.text = text.trimmingCharacters(in: .whitespaces)
    }

    public func invalid(_ problem: String, fix: String) -> SettingError {
        SettingError(key: key, problem: problem, fix: fix)
    }

    /// A positive, finite number of seconds.
    public func seconds(example: String? = nil) throws(SettingError) -> Double {
        guard let number = Double(text), number > 0, number.isFinite else {
            throw invalid("\(text) is not a positive number of seconds", fix: "write e.g. \(example ?? (key.hasSuffix("interval") ? "20" : "10"))")
        }
        return number
    }

    public func integer(_ range: ClosedRange<Int>) throws(SettingError) -> Int {
        guard let number = Int(text), range.contains(number) else {
            throw invalid("\(text) is not a whole number in \(range.lowerBound)...\(range.upperBound)", fix: "write a whole number in that range")
        }
        return number
    }

    public func number(_ range: ClosedRange<Double>) throws(SettingError) -> Double {
        guard let number = Double(text), number.isFinite, range.contains(number) else {
            throw invalid("\(text) is not a number in \(range.lowerBound)...\(range.upperBound)", fix: "write a number in that range")
        }
        return number
    }

    /// `true` / `yes` / `1` / `on`, or `false` / `no` / `0` / `off`.
    public func bool() throws(SettingError) -> Bool {
        switch text.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw invalid("\(text) is not a boolean", fix: "write true or false")
        }
    }

    /// A positive decimal, exact (sizes, prices, limits).
    public func decimal() throws(SettingError) -> FixedDecimal {
        guard let number = try? FixedDecimal(parsing: text), number.signum > 0 else {
            throw invalid("\(text) is not a positive decimal", fix: "write it as the exchange does, e.g. 0.001")
        }
        return number
    }

    /// A TCP port; `0` picks a free one.
    public func port() throws(SettingError) -> Int {
        guard let port = Int(text), (0...65_535).contains(port) else {
            throw invalid("\(text) is not a port", fix: "write a whole number in 0...65535 (0 picks a free one)")
        }
        return port
    }

    /// `nil` for an empty value or one of `absent` (e.g. `none`, `auto`).
    public func isAbsent(_ absent: [String]) -> Bool { text.isEmpty || absent.contains(text.lowercased()) }
}

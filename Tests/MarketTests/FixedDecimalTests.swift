import Foundation
import Market
import Testing
import TestSupport

@Suite(.offThePool)
struct FixedDecimalTests {
    @Test(arguments: [
        ("30247.20", 3_024_720, 2), ("0.000", 0, 3), ("6203", 6203, 0), ("-0.5", -5, 1),
        ("+12.5", 125, 1), ("1.5e-5", 15, 6), ("1E+3", 1000, 0), ("2.50E2", 250, 0),
        ("0.00000001", 1, 8), ("999999999999999999", 999_999_999_999_999_999, 0),
    ])
    func parsesExchangeDecimalStringsExactly(text: String, mantissa: Int64, scale: UInt8) throws {
        let value = try FixedDecimal(parsing: text)
        #expect(value.mantissa == mantissa)
        #expect(value.scale == scale)
    }

    @Test(arguments: ["30247.20", "0.000", "6203", "-0.005", "109378.90", "0.04499", "1.9537"])
    func formatsBackTheSameString(text: String) throws {
        #expect(try FixedDecimal(parsing: text).description == text)
    }

    /// The byte writer (JSON, the NDJSON wire) says what `description` says, to the widest values.
    @Test func writesTheSameBytesAsItsDescription() {
        var values = [FixedDecimal(mantissa: .max, scale: 0), FixedDecimal(mantissa: .min, scale: 18), FixedDecimal(mantissa: .min, scale: 0),
                      FixedDecimal(mantissa: .max, scale: 18), FixedDecimal(mantissa: 0, scale: 0), FixedDecimal(mantissa: 0, scale: 18),
                      FixedDecimal(mantissa: -1, scale: 18), FixedDecimal(mantissa: 5, scale: 3), FixedDecimal(mantissa: -120, scale: 1)]
        var random = SeededRandom(seed: 7)
        for _ in 0..<2_000 {
            let mantissa = Int64(bitPattern: random.next()) >> Int64(random.next() % 63)
            values.append(FixedDecimal(mantissa: mantissa, scale: UInt8(random.next() % 19)))
        }
        for value in values {
            var bytes: [UInt8] = [UInt8(ascii: "x")]
            value.write(to: &bytes)
            #expect(String(decoding: bytes.dropFirst(), as: UTF8.self) == value.description, "\(value.mantissa) scale \(value.scale)")
        }
    }

    /// The analytics' `Double` is the mantissa over 10^scale at every scale, as the parsed text says it.
    @Test func doubleValueIsTheMantissaOverItsPowerOfTenAtEveryScale() throws {
        for scale in 0...Int(FixedDecimal.maxScale) {
            let value = FixedDecimal(mantissa: 123_456_789, scale: UInt8(scale))
            #expect(value.doubleValue == 123_456_789 / pow(10, Double(scale)), "scale \(scale)")
            #expect(value.doubleValue == Double(value.description), "scale \(scale)")
        }
        #expect(try FixedDecimal(parsing: "-0.000000000000000001").doubleValue == -1e-18)
    }

    @Test(arguments: [
        ("", DecimalError.empty), ("-", .missingDigits), (".", .missingDigits), ("1.2.3", .invalidCharacter(offset: 3)),
        ("12a", .invalidCharacter(offset: 2)), ("1e", .missingDigits), ("1e5x", .invalidCharacter(offset: 3)),
        ("1234567890123456789", .tooManyDigits), ("1e-40", .exponentOutOfRange), ("NaN", .missingDigits),
    ])
    func rejectsMalformedNumbersWithATypedError(text: String, expected: DecimalError) {
        #expect(throws: expected) { try FixedDecimal(parsing: text) }
    }

    @Test func comparesAndHashesByValueNotScale() throws {
        let a = try FixedDecimal(parsing: "1.5")
        let b = try FixedDecimal(parsing: "1.500")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(try FixedDecimal(parsing: "1.49") < a)
        #expect(try FixedDecimal(parsing: "-2") < FixedDecimal(parsing: "-1.99"))
        #expect(Set([a, b]).count == 1)
    }

    @Test func doesArithmeticWithoutDouble() throws {
        let price = try FixedDecimal(parsing: "0.1")
        let three = price + price + price
        #expect(three == (try FixedDecimal(parsing: "0.3")))   // 0.1+0.1+0.1 != 0.3 in Double
        #expect((try FixedDecimal(parsing: "30247.20")) - (try FixedDecimal(parsing: "0.05")) == (try FixedDecimal(parsing: "30247.15")))
        #expect((try FixedDecimal(parsing: "1.25")) * (try FixedDecimal(parsing: "0.004")) == (try FixedDecimal(parsing: "0.005")))
        let third = try #require(FixedDecimal(1).divided(by: FixedDecimal(3), scale: 4))
        #expect(third.description == "0.3333")
        let twoThirds = try #require(FixedDecimal(2).divided(by: FixedDecimal(3), scale: 2, rounding: .down))
        #expect(twoThirds.description == "0.66")
        #expect(FixedDecimal(1).divided(by: .zero, scale: 2) == nil)
        let big = FixedDecimal(mantissa: .max, scale: 0)
        #expect(big.addingReportingOverflow(FixedDecimal(1)) == nil)
    }

    /// Sums, products, comparisons and floored quotients of operands of one scale (or a product that fits) take
    /// 64-bit shortcuts; each must give exactly what the 128-bit arithmetic gives, here written out again.
    @Test func theSixtyFourBitShortcutsAgreeWithWideArithmetic() {
        var rng = SeededGenerator(seed: 16)
        func random() -> FixedDecimal {
            let mantissa: Int64 = switch Int.random(in: 0..<4, using: &rng) {
            case 0: Int64.random(in: -1_000...1_000, using: &rng)
            case 1: Int64.random(in: -10_000_000_000...10_000_000_000, using: &rng)
            case 2: Int64.random(in: (Int64.max - 1_000)...Int64.max, using: &rng) * (Bool.random(using: &rng) ? 1 : -1)
            default: Int64.random(in: .min ... .max, using: &rng)
            }
            // One scale for both operands half the time: the shortcuts' case.
            return FixedDecimal(mantissa: mantissa, scale: UInt8.random(in: 0...18, using: &rng))
        }
        func wide(_ value: FixedDecimal, at scale: UInt8) -> Int128 {
            var result = Int128(value.mantissa)
            for _ in 0..<Int(scale - value.scale) { result *= 10 }
            return result
        }
        for _ in 0..<100_000 {
            let a = random()
            var b = random()
            if Bool.random(using: &rng) { b = FixedDecimal(mantissa: b.mantissa, scale: a.scale) }
            let scale = max(a.scale, b.scale)
            let (x, y) = (wide(a, at: scale), wide(b, at: scale))
            #expect((a == b) == (x == y) && (a < b) == (x < y), "\(a) \(b)")
            let sum = a.addingReportingOverflow(b)
            #expect(sum?.mantissa == Int64(exactly: x + y) && (sum == nil || sum!.scale == scale), "\(a) + \(b)")
            var product = Int128(a.mantissa) * Int128(b.mantissa)
            var productScale = Int(a.scale) + Int(b.scale)
            var reduced = true
            while productScale > 18 || Int64(exactly: product) == nil {
                guard productScale > 0, product % 10 == 0 else { reduced = false; break }
                product /= 10
                productScale -= 1
            }
            let times = a.multipliedReportingOverflow(by: b)
            #expect(reduced ? times?.mantissa == Int64(product) && times?.scale == UInt8(productScale) : times == nil, "\(a) × \(b)")
            #expect(a.flooredQuotient(b) == (b.isZero ? nil : a.divided(by: b, scale: 0, rounding: .floor)?.mantissa), "⌊\(a) / \(b)⌋")
        }
    }

    @Test func halfEvenRoundsTiesToEven() throws {
        let half = try FixedDecimal(parsing: "2.5")
        #expect(half.divided(by: FixedDecimal(1), scale: 0, rounding: .halfEven)?.description == "2")
        #expect((try FixedDecimal(parsing: "3.5")).divided(by: FixedDecimal(1), scale: 0, rounding: .halfEven)?.description == "4")
        #expect((try FixedDecimal(parsing: "-2.5")).divided(by: FixedDecimal(1), scale: 0, rounding: .floor)?.description == "-3")
    }

    @Test func roundsOntoTickAndLotGrids() throws {
        let instrument = Instrument(symbol: "BTCUSDT", tickSize: try .init(parsing: "0.10"),
                                    qtyStep: try .init(parsing: "0.001"), minQty: try .init(parsing: "0.001"))
        let raw = try FixedDecimal(parsing: "30247.27")
        #expect(instrument.passivePrice(raw, side: .buy)?.description == "30247.20")
        #expect(instrument.passivePrice(raw, side: .sell)?.description == "30247.30")
        #expect(instrument.isOnTick(try .init(parsing: "30247.30")))
        #expect(!instrument.isOnTick(raw))
        #expect(instrument.tradableQuantity(try .init(parsing: "0.0129"))?.description == "0.012")
        #expect(instrument.tradableQuantity(try .init(parsing: "0.0009")) == nil)
    }

    @Test func theExchangesMaximumQuantityAndMinimumNotionalHold() throws {
        let d = { (text: String) in try FixedDecimal(parsing: text) }
        var instrument = Instrument(symbol: "BTCUSDT", tickSize: try d("0.10"), qtyStep: try d("0.001"), minQty: try d("0.001"),
                                    maxQty: try d("1.5"), minNotional: try d("5"))
        #expect(instrument.tradableQuantity(try d("2.0007")) == (try d("1.5")))
        #expect(instrument.meetsMinimumNotional(price: try d("5000.0"), qty: try d("0.001")))      // 5.0000
        #expect(!instrument.meetsMinimumNotional(price: try d("4999.9"), qty: try d("0.001")))     // 4.9999
        instrument.minNotional = nil
        #expect(instrument.meetsMinimumNotional(price: try d("0.1"), qty: try d("0.001")))
        let other = Instrument(symbol: "BTCUSDT", tickSize: try d("0.1"), qtyStep: try d("0.0010"), minQty: try d("0.001"))
        #expect(!instrument.gridDiffers(from: other), "0.10 and 0.1 are one tick; the limits are not the grid")
        #expect(instrument.gridDiffers(from: Instrument(symbol: "BTCUSDT", tickSize: try d("0.01"), qtyStep: try d("0.001"), minQty: try d("0.001"))))
    }

    /// Every number in the real captures — each quoted decimal the exchanges send, and each bare
    /// number of up to 18 digits — parses and formats back to the same text.
    @Test func roundTripsEveryNumberInTheCaptures() throws {
        var corpus: [UInt8] = []
        for file in try SharedData.docsExamples(prefix: "") { corpus += Array(try Data(contentsOf: file)) }
        corpus += Array(try Data(contentsOf: SharedData.url("bybit/recorded-sample.txt")))
        corpus += Array(try gunzip(SharedData.path("binance-usdm/btcusdt_20240808.gz")).utf8)
        var checked = 0
        var failures: [String] = []
        var index = 0
        let isDigit = { (byte: UInt8) in byte >= 48 && byte <= 57 }
        while index < corpus.count {
            // A number starts at a digit (or '-') right after a quote, a colon, a comma or a bracket.
            let previous = index > 0 ? corpus[index - 1] : 0
            guard isDigit(corpus[index]) || corpus[index] == 45,
                  [34, 58, 44, 91].contains(previous) else { index += 1; continue }
            var end = index + 1
            while end < corpus.count, isDigit(corpus[end]) || corpus[end] == 46 { end += 1 }
            let quoted = previous == 34
            let terminator = end < corpus.count ? corpus[end] : 0
            let text = String(decoding: corpus[index..<end], as: UTF8.self)
            // Only whole values: a quoted string that is entirely a number, or a bare JSON number.
            if (quoted && terminator == 34) || (!quoted && [44, 125, 93].contains(terminator)),
               text.filter(\.isNumber).count <= 18, text.count <= 19 + (text.hasPrefix("-") ? 1 : 0) {
                checked += 1
                if (try? FixedDecimal(parsing: text))?.description != text { failures.append(text) }
            }
            index = end
        }
        #expect(checked > 1_000_000)
        #expect(failures.isEmpty, "did not round-trip: \(failures.prefix(5))")
    }

    private func gunzip(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -dc '\(path)'"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

struct UTCTimeTests {
    @Test func normalisesIntegerUnitsToNanoseconds() {
        #expect(UTCTime.nanoseconds(1_717_440_000_000, unit: .milliseconds) == 1_717_440_000_000_000_000)
        #expect(UTCTime.nanoseconds(1_717_440_000_000_123, unit: .microseconds) == 1_717_440_000_000_123_000)
        #expect(UTCTime.normalize(1_717_440_000) == 1_717_440_000_000_000_000)
        #expect(UTCTime.normalize(1_717_440_000_000) == 1_717_440_000_000_000_000)
        #expect(UTCTime.normalize(1_717_440_000_000_000) == 1_717_440_000_000_000_000)
        #expect(UTCTime.normalize(1_758_841_137_168_651_303) == 1_758_841_137_168_651_303)
        #expect(UTCTime.nanoseconds(.max / 10, unit: .seconds) == nil)
    }

    @Test func parsesISO8601ToUTCNanoseconds() throws {
        #expect(try UTCTime.parseISO8601("1970-01-01T00:00:00Z") == 0)
        // Formatting (log lines, API answers): milliseconds, UTC, and back again.
        #expect(UTCTime.formatISO8601(0) == "1970-01-01T00:00:00.000Z")
        #expect(UTCTime.formatISO8601(1_717_440_000_123_456_789) == "2024-06-03T18:40:00.123Z")
        #expect(UTCTime.formatISO8601(951_782_400_000_000_000) == "2000-02-29T00:00:00.000Z")
        #expect(UTCTime.formatISO8601(-1_000_000) == "1969-12-31T23:59:59.999Z")
        for value: Int64 in [1, 86_399_999_000_000, 1_795_383_213_725_000_000, 4_102_444_800_000_000_000] {
            #expect(try UTCTime.parseISO8601(UTCTime.formatISO8601(value)) == value / 1_000_000 * 1_000_000)
        }
        #expect(try UTCTime.parseISO8601("2024-06-03T18:40:00Z") == 1_717_440_000_000_000_000)
        #expect(try UTCTime.parseISO8601("2024-06-03T18:40:00.123456789Z") == 1_717_440_000_123_456_789)
        #expect(try UTCTime.parseISO8601("2024-06-03T20:40:00.5+02:00") == 1_717_440_000_500_000_000)
        #expect(try UTCTime.parseISO8601("2024-02-29 00:00:00Z") == 1_709_164_800_000_000_000)
        for bad in ["2023-02-29T00:00:00Z", "2024-06-03T18:40:00", "2024-13-01T00:00:00Z", "yesterday", "2024-06-03T18:40:00Zjunk"] {
            #expect(throws: UTCTime.ParseError.self) { try UTCTime.parseISO8601(bad) }
        }
    }
}

struct RecordedLineTests {
    @Test func splitsCollectorLinesAndAcceptsRawJSON() {
        "1758841137168651303 {\"a\":1}".withBytes { bytes in
            let line = RecordedLine(bytes)
            #expect(line.receiveTime == 1_758_841_137_168_651_303)
            #expect(String(decoding: line.message, as: UTF8.self) == "{\"a\":1}")
        }
        "{\"a\":1}\r".withBytes { bytes in
            let line = RecordedLine(bytes)
            #expect(line.receiveTime == 0)
            #expect(String(decoding: line.message, as: UTF8.self) == "{\"a\":1}")
        }
        "99999999999999999999999 {}".withBytes { bytes in
            #expect(RecordedLine(bytes).receiveTime == 0)
        }
    }
}

struct FixedDecimalWriteTests {
    @Test func writingBytesSpellsWhatDescriptionSpells() {
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<20_000 {
            let value = FixedDecimal(mantissa: Int64.random(in: -10_000_000_000...10_000_000_000, using: &rng) / Int64.random(in: 1...100_000, using: &rng),
                                     scale: UInt8.random(in: 0...12, using: &rng))
            var bytes: [UInt8] = []
            value.write(to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == value.description)
        }
        for extreme in [FixedDecimal(mantissa: .max, scale: 18), FixedDecimal(mantissa: .min, scale: 0), FixedDecimal(mantissa: -1, scale: 18)] {
            var bytes: [UInt8] = []
            extreme.write(to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == extreme.description)
        }
    }
}

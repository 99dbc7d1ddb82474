import Market
import Testing
import TestSupport

struct JSONScannerTests {
    /// Reads `{"u":…,"p":…,"s":…}` in whatever order the keys come, skipping the rest.
    private func read(_ json: String) throws -> (Int64?, FixedDecimal?, String?) {
        try json.withBytes { bytes in
            var scanner = JSONScanner(bytes)
            var u: Int64?
            var p: FixedDecimal?
            var s: String?
            var object = try scanner.beginObject()
            while let key = try scanner.nextKey(in: &object) {
                if key.equals("u") {
                    u = try scanner.readInt64()
                } else if key.equals("p") {
                    p = try scanner.readDecimal()
                } else if key.equals("s") {
                    s = try scanner.readString().string
                } else {
                    try scanner.skipValue()
                }
            }
            try scanner.finish()
            return (u, p, s)
        }
    }

    @Test func readsKeysInAnyOrderAndSkipsUnknownOnes() throws {
        let a = try read(#"{"u":42,"p":"30247.20","s":"BTCUSDT"}"#)
        let b = try read(#"{"x":{"deep":[1,2,{"y":null}]},"s":"BTCUSDT","z":[true,false,-1.5e3],"p":30247.20,"u":"42"}"#)
        #expect(a.0 == 42 && b.0 == 42)
        #expect(a.1 == b.1 && a.1?.description == "30247.20")
        #expect(a.2 == "BTCUSDT" && b.2 == "BTCUSDT")
        let spaced = try read(" { \"u\" : 7 ,\n\t\"p\" : \"1.5\" } ")
        let oneAndAHalf = try FixedDecimal(parsing: "1.5")
        #expect(spaced.0 == 7 && spaced.1 == oneAndAHalf)
    }

    private func levels(_ json: String, _ extra: JSONScanner.ExtraLevelSizes = .ignore) throws -> [String] {
        try json.withBytes { bytes in
            var scanner = JSONScanner(bytes)
            let levels = try scanner.readPriceLevels(extraSizes: extra)
            try scanner.finish()
            return levels.map { "\($0.price) \($0.qty)" }
        }
    }

    /// Compact levels take the one-pass path; anything else (spaces, bare numbers, exponents, a third
    /// number) falls back to the general reader at the level it met, with the same result.
    @Test func readsPriceLevelsInEveryShapeBothWays() throws {
        let expected = ["61496.50 0.010", "61496.4 12", "0.5 0.001"]
        #expect(try levels(#"[["61496.50","0.010"],["61496.4","12"],["0.5","0.001"]]"#) == expected)
        #expect(try levels(#"[["61496.50","0.010"], [ "61496.4" , "12" ],[".5","1e-3"]]"#).count == 3)
        #expect(try levels(#"[[61496.50,"0.010"],["61496.4",12],["0.5","0.001"]]"#) == expected)
        #expect(try levels(#"[["61496.50","0.010","0.002"],["61496.4","12"]]"#, .sum) == ["61496.50 0.012", "61496.4 12"])
        #expect(try levels(#"[["61496.50","0.010","0.002"],["61496.4","12"]]"#, .ignore) == ["61496.50 0.010", "61496.4 12"])
        #expect(try levels("[]").isEmpty)
        // Nineteen digits, or a trailing dot: not the plain form; the general reader refuses the one, reads the other.
        #expect(throws: JSONError.self) { try levels(#"[["1234567890.123456789","1"]]"#) }
        #expect(try levels(#"[["5.","1"]]"#) == ["5 1"])
        #expect(throws: JSONError.self) { try levels(#"[["61496.50"]]"#) }
        #expect(throws: JSONError.self) { try levels(#"[["61496.50","0.010"]"#) }
    }

    @Test func decodesEscapes() throws {
        let value = try read(#"{"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}"#).2
        #expect(value == "a\"b\\c/d\né😀")
    }

    @Test(arguments: [
        (#"{"u":1"#, 6), (#"{"u":1,}"#, 7), (#"{"u" 1}"#, 5), (#"{"u":01}"#, 5), (#"{"s":"\x"}"#, 6),
        (#"{"u":99999999999999999999}"#, 5), (#"{"p":"1.2.3"}"#, 5), (#"{"u":1} x"#, 8), (#"{"p":tru}"#, 5), (#"{"x":tru}"#, 8),
    ])
    func reportsMalformedInputWithTheByteOffset(json: String, offset: Int) {
        do {
            _ = try read(json)
            Issue.record("accepted malformed \(json)")
        } catch let error as JSONError {
            #expect(error.offset == offset, "\(json): \(error)")
        } catch {
            Issue.record("untyped error \(error)")
        }
    }

    @Test func limitsNestingDepth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        deep.withBytes { bytes in
            var scanner = JSONScanner(bytes)
            #expect(throws: JSONError(.tooDeep, at: JSONScanner.maxDepth)) { try scanner.skipValue() }
        }
    }

    @Test func neverTrapsOnRandomBytes() {
        var rng = SeededGenerator(seed: 7)
        let alphabet = Array(#"{}[]:,"\ u0123456789.-eE+tfnrlasx"#.utf8)
        for _ in 0..<5_000 {
            let bytes = (0..<Int.random(in: 0..<60, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            bytes.withUnsafeBytes { buffer in
                var scanner = JSONScanner(buffer)
                _ = try? scanner.skipValue()
                var other = JSONScanner(buffer)
                _ = try? other.readDecimal()
                _ = try? other.readInt64()
            }
        }
    }
}

/// `consume(_:)` matches a literal exactly or consumes nothing, for every length's way of comparing
/// (bytes below 4, two overlapping halves below 8, whole words and an overlapping last word above).
struct JSONScannerConsumeTests {
    private static let text = #"{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate"}}"#

    @Test func aLiteralIsConsumedOnlyWhenEveryByteMatches() {
        func check(_ literal: StaticString, _ expected: Int, _ text: String = Self.text, sourceLocation: SourceLocation = #_sourceLocation) {
            text.withBytes { buffer in
                var scanner = JSONScanner(buffer)
                let consumed = scanner.consume(literal)
                #expect(consumed == (expected > 0) && scanner.offset == expected, "\(literal)", sourceLocation: sourceLocation)
            }
        }
        // Prefixes of every comparing length: consumed, the offset just after.
        check("{", 1)
        check(#"{"s"#, 3)
        check(#"{"st"#, 4)
        check(#"{"str"#, 5)
        check(#"{"strea"#, 7)
        check(#"{"stream"#, 8)
        check(#"{"stream":""#, 11)
        check(#"{"stream":"btcus"#, 16)
        check(#"{"stream":"btcusd"#, 17)
        check(#"{"stream":"btcusdt@depth@0ms","data":{"e":""#, 43)
        // One byte different — the first, the last, one only an overlapping word or half sees: nothing consumed.
        check("[", 0)
        check(#"{"t"#, 0)
        check(#"["st"#, 0)
        check(#"{"sx"#, 0)
        check(#"{"xtr"#, 0)
        check(#"{"sXrea"#, 0)
        check(#"{"streaM"#, 0)
        check(#"{"stream":x"#, 0)
        check(#"{"stream"X"btcusd"#, 0)
        check(#"{"stream":"btcusX"#, 0)
        check(#"{"stream":"btcusdt@dePth@0ms","data":{"e":""#, 0)
        check(#"{"stream":"btcusdt@depth@0ms","data":{"e":"X"#, 0)
        // Running past the end of the buffer: nothing consumed, nothing read beyond it.
        check(#"1}}X"#, 0, "1}}")
        check(#"{"stream":"x"#, 0, #"{"stream":""#)
        check(#"1}}"#, 3, "1}}")
    }
}

struct JSONWriterTests {
    @Test func writesCompactJSONWithExactDecimals() throws {
        var out = JSONWriter()
        out.beginObject()
        out.field("symbol", "BTC\"USDT\n")
        out.key("levels")
        out.beginArray()
        out.beginArray(); out.decimal(try FixedDecimal(parsing: "30247.20")); out.decimalNumber(try FixedDecimal(parsing: "0.000")); out.endArray()
        out.beginArray(); out.endArray()
        out.endArray()
        out.field("valid", true)
        out.key("none"); out.null()
        out.endObject()
        #expect(out.string == #"{"symbol":"BTC\"USDT\n","levels":[["30247.20",0.000],[]],"valid":true,"none":null}"#)
    }
}

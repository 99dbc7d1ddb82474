/// Builds one compact JSON object or array into bytes: Keel's output side (reports, the NDJSON wire).
/// Decimals are written as strings of their exact value, so nothing passes through `Double`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = []

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma.append(false) }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma.removeLast() }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma.append(false) }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma.removeLast() }

    public mutating func key(_ name: String) {
        separate()
        writeQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    private var afterKey = false

    /// Writes the comma before a member or element, except for the value right after its key.
    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        guard let last = needsComma.last else { return }
        if last { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func string(_ value: String) { separate(); writeQuoted(value) }
    mutating func beginRaw() { separate() }
    mutating func appendRaw(_ json: [UInt8]) { bytes.append(contentsOf: json) }
    public mutating func int(_ value: Int64) { separate(); bytes.append(contentsOf: String(value).utf8) }
    public mutating func int(_ value: Int) { int(Int64(value)) }
    public mutating func bool(_ value: Bool) { separate(); bytes.append(contentsOf: (value ? "true" : "false").utf8) }
    public mutating func null() { separate(); bytes.append(contentsOf: "null".utf8) }
    /// A decimal as a JSON string of its exact value (`"30247.20"`).
    public mutating func decimal(_ value: FixedDecimal) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        value.write(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }
    /// A decimal as a bare JSON number of its exact value (`30247.20`).
    public mutating func decimalNumber(_ value: FixedDecimal) { separate(); value.write(to: &bytes) }
    public mutating func double(_ value: Double) {
        separate()
        bytes.append(contentsOf: (value.isFinite ? "\(value)" : "null").utf8)
    }

    public mutating func field(_ name: String, _ value: String) { key(name); string(value) }
    public mutating func field(_ name: String, _ value: Int) { key(name); int(value) }
    public mutating func field(_ name: String, _ value: Int64) { key(name); int(value) }
    public mutating func field(_ name: String, _ value: Bool) { key(name); bool(value) }
    /// A measurement (seconds, rates, ratios) as a plain JSON number; never a price or a size.
    public mutating func field(_ name: String, _ value: Double) { key(name); double(value) }
    /// A decimal as a bare number; `nil` as `null`.
    public mutating func field(_ name: String, number value: FixedDecimal?) {
        key(name)
        if let value { decimalNumber(value) } else { null() }
    }

    private mutating func writeQuoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
            case 0x0A: bytes.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONWriter {
    /// `[[price, qty], …]` as the exchanges write levels: exact decimals as strings, or as bare
    /// JSON numbers (`asNumbers`, the connector wire's way).
    public mutating func priceLevels(_ levels: some Sequence<PriceLevel>, asNumbers: Bool = false) {
        levelArray(levels, asNumbers: asNumbers)
    }

    /// The same for an array: not generic, so a caller in another module runs no unspecialised iteration
    /// (which allocated once a level); this module specialises the one below for it.
    public mutating func priceLevels(_ levels: [PriceLevel], asNumbers: Bool = false) {
        levelArray(levels, asNumbers: asNumbers)
    }

    private mutating func levelArray(_ levels: some Sequence<PriceLevel>, asNumbers: Bool) {
        beginArray()
        for level in levels { priceLevel(level, asNumbers: asNumbers) }
        endArray()
    }

    /// `[price,qty]` (or `["price","qty"]`) as one element, its bytes written directly.
    private mutating func priceLevel(_ level: PriceLevel, asNumbers: Bool) {
        separate()
        bytes.append(UInt8(ascii: "["))
        if asNumbers {
            level.price.write(to: &bytes)
            bytes.append(UInt8(ascii: ","))
            level.qty.write(to: &bytes)
        } else {
            bytes.append(UInt8(ascii: "\""))
            level.price.write(to: &bytes)
            bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ","), UInt8(ascii: "\"")])
            level.qty.write(to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes already-encoded JSON as the next value (a result object inside an envelope).
    public mutating func raw(_ json: [UInt8]) {
        beginRaw()
        appendRaw(json)
    }
}

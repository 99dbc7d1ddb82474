/// A JSON object read as text: strings, numbers (their exact text) and booleans (`"true"`/`"false"`)
/// by key, and arrays of such objects under the keys asked for. For low-volume messages (REST
/// bodies, private streams, commands) whose fields are then typed one by one.
public struct FlatJSONObject: Sendable, Equatable {
    public var fields: [String: String] = [:]
    public var arrays: [String: [FlatJSONObject]] = [:]

    public init(fields: [String: String] = [:], arrays: [String: [FlatJSONObject]] = [:]) {
        self.fields = fields
        self.arrays = arrays
    }

    public subscript(_ key: String) -> String? { fields[key] }

    /// A non-empty field.
    public func string(_ key: String) -> String? { fields[key].flatMap { $0.isEmpty ? nil : $0 } }

    /// A decimal field; `nil` when absent or empty, an error naming the key when not a decimal.
    public func decimal(_ key: String) throws(DecimalFieldError) -> FixedDecimal? {
        guard let text = string(key) else { return nil }
        do throws(DecimalError) {
            return try FixedDecimal(parsing: text)
        } catch {
            throw DecimalFieldError(key: key, text: text, reason: error)
        }
    }

    public struct DecimalFieldError: Error, Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var text: String
        public var reason: DecimalError
        public var description: String { "\(key) \"\(text)\" is not a decimal (\(reason))" }
    }
}

extension JSONScanner {
    /// Reads the next object flat; arrays of objects under `nested` keys are kept, objects under
    /// `nested` keys are folded in as `key.field`, other nested values skipped.
    public mutating func readFlatObject(nested: Set<String> = []) throws(JSONError) -> FlatJSONObject {
        var result = FlatJSONObject()
        var object = try beginObject()
        while let key = try nextKey(in: &object) {
            let name = key.string
            switch try peekKind() {
            case .string: result.fields[name] = try readString().string
            case .number: result.fields[name] = String(decoding: try readNumberText(), as: UTF8.self)
            case .bool: result.fields[name] = try readBool() ? "true" : "false"
            case .null: _ = try readNullIfPresent()
            case .array where nested.contains(name):
                var list: [FlatJSONObject] = []
                var array = try beginArray()
                while try nextElement(in: &array) { list.append(try readFlatObject(nested: nested)) }
                result.arrays[name] = list
            case .object where nested.contains(name):
                // A nested object's fields join this one's as `name.field` (`priceFilter.tickSize`).
                for (field, value) in try readFlatObject(nested: nested).fields { result.fields[name + "." + field] = value }
            case .array, .object: try skipValue()
            }
        }
        return result
    }
}

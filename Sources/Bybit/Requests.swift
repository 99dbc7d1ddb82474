import Market

/// A request a client sends on a Bybit WebSocket: `{"req_id","op","args":[…]}` (public and private
/// streams) or `{"reqId","header":{…},"op","args":[{…}]}` (the trade stream). String arguments are
/// kept as strings, numbers as their text; object arguments as raw JSON bytes for the op to decode.
public struct BybitRequest: Sendable, Equatable {
    public var op: String
    public var requestId: String?
    public var args: [String]
    public var objectArgs: [[UInt8]]
    public var header: [String: String]

    /// Decodes one request; a malformed one is a typed error with its byte offset.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> BybitRequest {
        var scanner = JSONScanner(bytes)
        var request = BybitRequest(op: "", requestId: nil, args: [], objectArgs: [], header: [:])
        var sawOp = false
        var object = try scanner.beginObject()
        while let key = try scanner.nextKey(in: &object) {
            if key.equals("op") {
                request.op = try scanner.readString().string
                sawOp = true
            } else if key.equals("req_id") || key.equals("reqId") {
                if try scanner.peekKind() == .number {
                    request.requestId = String(try scanner.readInt64())
                } else if try !scanner.readNullIfPresent() {
                    request.requestId = try scanner.readString().string
                }
            } else if key.equals("args") {
                var array = try scanner.beginArray()
                while try scanner.nextElement(in: &array) {
                    switch try scanner.peekKind() {
                    case .string: request.args.append(try scanner.readString().string)
                    case .number: request.args.append(String(decoding: try scanner.readNumberText(), as: UTF8.self))
                    case .object:
                        let start = try scanner.skipValueMarkingStart()
                        request.objectArgs.append(Array(UnsafeRawBufferPointer(rebasing: bytes[start..<scanner.offset])))
                    default: try scanner.skipValue()
                    }
                }
            } else if key.equals("header") {
                var headers = try scanner.beginObject()
                while let name = try scanner.nextKey(in: &headers) {
                    let nameText = name.string
                    if try scanner.peekKind() == .string {
                        request.header[nameText] = try scanner.readString().string
                    } else {
                        request.header[nameText] = String(decoding: try scanner.readNumberText(), as: UTF8.self)
                    }
                }
            } else {
                try scanner.skipValue()
            }
        }
        try scanner.finish()
        guard sawOp else { throw JSONError(.missingField("op"), at: scanner.offset) }
        return request
    }
}

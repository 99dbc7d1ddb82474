import Foundation
import Logging

/// One line of the connector's stderr as the bot logs it again. The connector logs JSON lines
/// (`{"event":…,"level":…,"label":…,"ts":…, fields…}`): such a line becomes the bot's own record at the
/// connector's level, `event` its message, every other field a field, plus `source: connector` — the
/// connector's `label` and `ts` kept as `connector_label` and `connector_ts`. Nil for anything else
/// (a crash message, a runtime's own output), which the runner logs whole.
struct ConnectorLogLine {
    let level: Logger.Level
    let event: String
    let metadata: Logger.Metadata

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.first == UInt8(ascii: "{"),
              let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let event = object["event"] as? String, !event.isEmpty else { return nil }
        self.event = event
        level = (object["level"] as? String).flatMap(Logger.Level.init(rawValue:)) ?? .info
        var metadata: Logger.Metadata = ["source": "connector"]
        for (key, value) in object where key != "event" && key != "level" {
            let name = key == "label" || key == "ts" ? "connector_\(key)" : key
            metadata[name] = .string(Self.text(value))
        }
        self.metadata = metadata
    }

    private static func text(_ value: Any) -> String {
        // JSON's true and false arrive as Bool or as an NSNumber of a char (its objCType "c").
        if type(of: value) == Bool.self, let flag = value as? Bool { return flag ? "true" : "false" }
        if let number = value as? NSNumber, String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
        return switch value {
        case let string as String: string
        case let number as NSNumber: number.stringValue
        case is NSNull: "null"
        default:
            (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
        }
    }
}

import Logging
@testable import Supervisor
import Testing

/// The connector's stderr in the bot's log: its JSON lines as the bot's own records, anything else left whole.
struct ConnectorLogLineTests {
    private func parse(_ text: String) -> ConnectorLogLine? {
        Array(text.utf8).withUnsafeBytes { ConnectorLogLine($0) }
    }

    @Test func aJSONLogLineBecomesARecordWithItsFieldsAndItsLevel() throws {
        let record = try #require(parse(#"{"event":"bybit_public_connected","label":"keel.connector","level":"warning","ts":"2026-11-30T13:29:42.466Z","url":"wss://x","attempt":3,"ok":true}"#))
        #expect(record.event == "bybit_public_connected")
        #expect(record.level == .warning)
        #expect(record.metadata["source"] == "connector")
        #expect(record.metadata["url"] == "wss://x" && record.metadata["attempt"] == "3" && record.metadata["ok"] == "true")
        #expect(record.metadata["connector_label"] == "keel.connector" && record.metadata["connector_ts"] == "2026-11-30T13:29:42.466Z")
        #expect(record.metadata["event"] == nil && record.metadata["level"] == nil && record.metadata["label"] == nil)
    }

    @Test(arguments: ["Fatal error: Unexpectedly found nil", "{not json", #"{"no_event":1}"#, #"["event"]"#, ""])
    func anythingElseIsLeftWhole(line: String) {
        #expect(parse(line) == nil)
    }

    @Test func anUnknownLevelIsInfo() throws {
        #expect(try #require(parse(#"{"event":"x","level":"loud"}"#)).level == .info)
    }
}

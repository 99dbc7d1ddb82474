import Runtime
import Foundation
import Logging
import Synchronization
import Testing

/// The redaction step on every log line: secrets by value, named values, bearer tokens, e-mails,
/// non-local addresses, signatures — and ordinary text left alone.
struct LogRedactorTests {
    @Test func registeredSecretsAreMaskedWherever() {
        LogRedactor.register("kEy-4242-registered")
        LogRedactor.register("abc")   // too short to register: would mask words
        #expect(LogRedactor.redact("auth with kEy-4242-registered failed") == "auth with <redacted> failed")
        #expect(LogRedactor.redact("xkEy-4242-registeredx") == "x<redacted>x")
        #expect(LogRedactor.redact("abc def") == "abc def")
    }

    @Test func namedValuesKeepTheirName() {
        #expect(LogRedactor.redact("GET /v5/x?api_key=AAA&sign=BBB&symbol=BTCUSDT") == "GET /v5/x?api_key=<redacted>&sign=<redacted>&symbol=BTCUSDT")
        #expect(LogRedactor.redact(#"{"password":"hunter22","user":"bob"}"#) == #"{"password":"<redacted>","user":"bob"}"#)
        #expect(LogRedactor.redact("token: tk_live_123 next") == "token: <redacted> next")
        #expect(LogRedactor.redact("X-BAPI-SIGN: 0a1b2c") == "X-BAPI-SIGN: <redacted>")
        #expect(LogRedactor.redact(#"line {\"signature\":\"zzz\"}"#) == #"line {\"signature\":\"<redacted>\"}"#)
        #expect(LogRedactor.redact("postgres://keel:pw-in-url@db/keel password=pw2 sslmode=disable")
                == "postgres://keel:<redacted>@db/keel password=<redacted> sslmode=disable")
        // A name without a value, or a longer word, is just text.
        #expect(LogRedactor.redact("the secret is safe") == "the secret is safe")
        #expect(LogRedactor.redact("token_bucket=5") == "token_bucket=5")
    }

    @Test func bearerEmailsAddressesSignatures() {
        #expect(LogRedactor.redact("Authorization header Bearer eyJhbGciOi.J9.x-y") == "Authorization header Bearer <redacted>")
        #expect(LogRedactor.redact("mail ops@desk.example.com, now") == "mail <email>, now")
        #expect(LogRedactor.redact("peer 203.0.113.9:443 refused") == "peer <ip>:443 refused")
        #expect(LogRedactor.redact("peer 10.1.2.3 and 127.0.0.1:8000 and 0.0.0.0") == "peer <ip> and 127.0.0.1:8000 and 0.0.0.0")
        #expect(LogRedactor.redact("v6 2001:db8::8a2e:370:7334 and ::1") == "v6 <ip> and ::1")
        let signature = String(repeating: "9f", count: 32)
        #expect(LogRedactor.redact("sig \(signature) end") == "sig <redacted> end")
    }

    @Test func ordinaryLinesAreUnchanged() {
        for line in ["connected to ws://127.0.0.1:9100/v5/public/linear", "version 1.2.3", "at 12:30:45",
                     "2026-11-22T10:00:00.123Z", "book BTCUSDT 50000.5 x 1.25", "order 1a2b3c4d-0000-4000-8000-00000000abcd new",
                     "reconnect attempt 3 in 1.2 s", "user@", "a.b.c.d"] {
            #expect(LogRedactor.redact(line) == line)
        }
    }

    @Test func sensitiveKeysMaskTheWholeValue() {
        #expect(LogRedactor.isSensitive(key: "api_secret"))
        #expect(LogRedactor.isSensitive(key: "BYBIT_API_KEY"))
        #expect(LogRedactor.isSensitive(key: "password"))
        #expect(LogRedactor.isSensitive(key: "storage.password"))
        #expect(!LogRedactor.isSensitive(key: "symbol"))
        #expect(!LogRedactor.isSensitive(key: "keyboard"))
    }

    /// Through swift-log: the handler redacts message, metadata and error before the line is written.
    @Test func theHandlerRedactsEveryPart() throws {
        let lines = Mutex<[String]>([])
        LogRedactor.register("s3cr3t-handler-value")
        let handler = JSONLogHandler(label: "test", level: .debug) { bytes in lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
        let logger = Logger(label: "test") { _ in handler }
        logger.warning("login as ops@example.org", metadata: ["api_secret": "anything", "detail": "sign=abcdef", "symbol": "BTCUSDT"])
        logger.error("failed", metadata: ["line": #"{"event":"x","key":"s3cr3t-handler-value"}"#])
        logger.info("peer 198.51.100.7 refused s3cr3t-handler-value")
        let written = lines.withLock { $0 }
        #expect(written.count == 3)
        let all = written.joined()
        for leaked in ["ops@example.org", "anything", "abcdef", "s3cr3t-handler-value", "198.51.100.7"] { #expect(!all.contains(leaked)) }
        let first = try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: String]
        #expect(first?["event"] == "login as <email>")
        #expect(first?["api_secret"] == "<redacted>")
        #expect(first?["detail"] == "sign=<redacted>")
        #expect(first?["symbol"] == "BTCUSDT")
    }
}

import Foundation
import Synchronization

/// The redaction step every log line goes through (`JSONLogHandler` applies it to the message, every
/// metadata value and the error). It removes:
/// - registered secret values wherever they appear (API keys and secrets, passwords: `register(_:)`;
///   `Credentials.load` registers what it reads);
/// - the value after a sensitive name — `password`, `passwd`, `secret`, `token`, `api_key`, `apikey`,
///   `sign`, `signature`, `authorization`, `x-bapi-sign`, `x-bapi-api-key`, … — in `name=value`,
///   `name: value` and `"name":"value"` forms, and a whole metadata value whose key is such a name;
/// - the password in `scheme://user:password@host`;
/// - `Bearer <token>`; e-mail addresses; IPv4 addresses other than loopback (127.0.0.0/8) and 0.0.0.0;
///   IPv6 addresses other than `::1`; 64-hex-digit strings (HMAC-SHA256 signatures).
///
/// One pass over the bytes per line; a line with nothing to hide comes back unchanged.
public enum LogRedactor {
    public static let mask = "<redacted>"

    /// Adds a value that must never appear in a log line (ignored when shorter than 4 characters,
    /// which would mask ordinary words).
    public static func register(_ secret: String) {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count >= 4 else { return }
        registry.withLock { secrets in
            if !secrets.contains(trimmed) { secrets.append(trimmed) }
            secrets.sort { $0.utf8.count > $1.utf8.count }   // the longest first: no half-masked overlaps
        }
    }

    /// Whether a metadata key names a secret (its whole value is masked).
    public static func isSensitive(key: String) -> Bool {
        let lowered = Array(key.lowercased().utf8)
        return sensitiveNames.contains { name in
            lowered == name || (lowered.count > name.count && lowered.suffix(name.count).elementsEqual(name)
                                && [UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: ".")].contains(lowered[lowered.count - name.count - 1]))
        }
    }

    public static func redact(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let secrets = registry.withLock { $0.map { Array($0.utf8) } }
        var output: [UInt8] = []
        var changed = false
        var index = 0
        output.reserveCapacity(bytes.count)
        while index < bytes.count {
            if let end = match(bytes, at: index, secrets: secrets, output: &output) {
                changed = true
                index = end
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return changed ? String(decoding: output, as: UTF8.self) : text
    }

    // MARK: Matching

    private static let registry = Mutex<[String]>([])

    /// Names whose value is a secret. `sign` and `key` alone only count as whole names.
    static let sensitiveNames: [[UInt8]] = [
        "password", "passwd", "pwd", "secret", "api_secret", "apisecret", "token", "access_token", "refresh_token",
        "api_key", "apikey", "api-key", "sign", "signature", "authorization", "x-bapi-sign", "x-bapi-api-key",
        "x-mbx-apikey", "private_key", "credentials",
    ].map { Array($0.utf8) }

    /// At `start`: a secret value, a sensitive `name=value`, `Bearer …`, an e-mail, an IP or a signature.
    /// Appends the replacement to `output` and returns where the input continues; `nil` when nothing matched.
    private static func match(_ bytes: [UInt8], at start: Int, secrets: [[UInt8]], output: inout [UInt8]) -> Int? {
        for secret in secrets where bytes.count - start >= secret.count && bytes[start] == secret[0] {
            if bytes[start ..< start + secret.count].elementsEqual(secret) {
                output += Array(mask.utf8)
                return start + secret.count
            }
        }
        if let end = urlPassword(bytes, at: start, output: &output) { return end }
        let atWordStart = start == 0 || !isWord(bytes[start - 1])
        guard atWordStart else { return nil }
        if let end = namedValue(bytes, at: start, output: &output) { return end }
        if let end = bearer(bytes, at: start, output: &output) { return end }
        let tokenEnd = wordEnd(bytes, from: start, allowing: "._%+-@:")
        if tokenEnd > start {
            let token = bytes[start ..< tokenEnd]
            if let at = token.firstIndex(of: UInt8(ascii: "@")), isEmail(token, at: at) {
                output += Array("<email>".utf8)
                return trimmedEnd(bytes, start, tokenEnd)
            }
        }
        if let end = ipv4(bytes, at: start, output: &output) { return end }
        if let end = ipv6(bytes, at: start, output: &output) { return end }
        let hexEnd = wordEnd(bytes, from: start, allowing: "")
        if hexEnd - start == 64, bytes[start ..< hexEnd].allSatisfy(isHex) {
            output += Array(mask.utf8)
            return hexEnd
        }
        return nil
    }

    /// `name=value`, `name: value`, `"name":"value"`, `name":"value` (inside JSON text): the name is kept,
    /// the value masked up to the next delimiter.
    private static func namedValue(_ bytes: [UInt8], at start: Int, output: inout [UInt8]) -> Int? {
        let nameEnd = wordEnd(bytes, from: start, allowing: "_-")
        guard nameEnd > start else { return nil }
        let name = Array(bytes[start ..< nameEnd]).map(lower)
        guard sensitiveNames.contains(where: { $0 == name }) else { return nil }
        var cursor = nameEnd
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "\"") { cursor += 1 }
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "\\"), cursor + 1 < bytes.count, bytes[cursor + 1] == UInt8(ascii: "\"") { cursor += 2 }
        guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "=") || bytes[cursor] == UInt8(ascii: ":") else { return nil }
        cursor += 1
        while cursor < bytes.count, bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
        var quoted = false
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "\"") { quoted = true; cursor += 1 }
        else if cursor + 1 < bytes.count, bytes[cursor] == UInt8(ascii: "\\"), bytes[cursor + 1] == UInt8(ascii: "\"") { quoted = true; cursor += 2 }
        var valueEnd = cursor
        while valueEnd < bytes.count {
            let byte = bytes[valueEnd]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
            if !quoted, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "&") || byte == UInt8(ascii: ",")
                || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: ")") || byte == 0x0A { break }
            valueEnd += 1
        }
        // A `Bearer x` value keeps its scheme word out of the way: mask the lot.
        guard valueEnd > cursor else { return nil }
        output += bytes[start ..< cursor]
        output += Array(mask.utf8)
        return valueEnd
    }

    /// `scheme://user:password@host`: the password masked.
    private static func urlPassword(_ bytes: [UInt8], at start: Int, output: inout [UInt8]) -> Int? {
        guard bytes.count - start > 3, bytes[start] == UInt8(ascii: ":"), bytes[start + 1] == UInt8(ascii: "/"),
              bytes[start + 2] == UInt8(ascii: "/") else { return nil }
        let authorityStart = start + 3
        var end = authorityStart
        while end < bytes.count, ![UInt8(ascii: "/"), UInt8(ascii: " "), UInt8(ascii: "\""), UInt8(ascii: "?"), 0x0A].contains(bytes[end]) { end += 1 }
        guard let at = bytes[authorityStart ..< end].lastIndex(of: UInt8(ascii: "@")),
              let colon = bytes[authorityStart ..< at].firstIndex(of: UInt8(ascii: ":")) else { return nil }
        output += bytes[start ... colon]
        output += Array(mask.utf8)
        return at
    }

    private static func bearer(_ bytes: [UInt8], at start: Int, output: inout [UInt8]) -> Int? {
        let word = Array("bearer ".utf8)
        guard bytes.count - start > word.count, bytes[start ..< start + word.count].map(lower).elementsEqual(word) else { return nil }
        let tokenStart = start + word.count
        let tokenEnd = wordEnd(bytes, from: tokenStart, allowing: "-._~+/=")
        guard tokenEnd > tokenStart else { return nil }
        output += bytes[start ..< tokenStart]
        output += Array(mask.utf8)
        return tokenEnd
    }

    private static func isEmail(_ token: ArraySlice<UInt8>, at sign: Int) -> Bool {
        let local = token[token.startIndex ..< sign]
        let domain = token[(sign + 1)...].prefix { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
        guard !local.isEmpty, let dot = domain.lastIndex(of: UInt8(ascii: ".")) else { return false }
        let top = domain[(dot + 1)...]
        return top.count >= 2 && top.allSatisfy { isLetter($0) } && dot > domain.startIndex
    }

    /// Where an e-mail token really ends (trailing punctuation is not part of it).
    private static func trimmedEnd(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Int {
        var end = end
        while end > start, !isWord(bytes[end - 1]) { end -= 1 }
        return end
    }

    private static func ipv4(_ bytes: [UInt8], at start: Int, output: inout [UInt8]) -> Int? {
        var cursor = start
        var octets: [Int] = []
        while octets.count < 4 {
            var digits = 0
            var value = 0
            while cursor < bytes.count, isDigit(bytes[cursor]), digits < 4 {
                value = value * 10 + Int(bytes[cursor] - 48)
                digits += 1
                cursor += 1
            }
            guard (1...3).contains(digits), value <= 255 else { return nil }
            octets.append(value)
            if octets.count < 4 {
                guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: ".") else { return nil }
                cursor += 1
            }
        }
        if cursor < bytes.count, isDigit(bytes[cursor]) || (bytes[cursor] == UInt8(ascii: ".") && cursor + 1 < bytes.count && isDigit(bytes[cursor + 1])) {
            return nil   // a version number or a longer dotted run, not an address
        }
        if octets[0] == 127 || octets == [0, 0, 0, 0] { return nil }
        output += Array("<ip>".utf8)
        return cursor
    }

    /// Hex groups separated by `:` with at least two colons and a `::` or eight groups; `::1` stays.
    private static func ipv6(_ bytes: [UInt8], at start: Int, output: inout [UInt8]) -> Int? {
        var cursor = start
        var colons = 0
        var groups = 0
        var doubleColon = false
        var groupLength = 0
        while cursor < bytes.count {
            let byte = bytes[cursor]
            if isHex(byte) {
                groupLength += 1
                guard groupLength <= 4 else { return nil }
            } else if byte == UInt8(ascii: ":") {
                if groupLength > 0 { groups += 1 }
                if cursor > start, bytes[cursor - 1] == UInt8(ascii: ":") { doubleColon = true }
                groupLength = 0
                colons += 1
            } else {
                break
            }
            cursor += 1
        }
        if groupLength > 0 { groups += 1 }
        if cursor < bytes.count, isWord(bytes[cursor]) || bytes[cursor] == UInt8(ascii: ".") { return nil }
        guard colons >= 2, doubleColon || groups == 8, groups >= 1 else { return nil }
        // Times like 12:30:45 have no `::` and three groups: not addresses.
        let text = String(decoding: bytes[start ..< cursor], as: UTF8.self)
        if text == "::1" || text == "::" { return nil }
        output += Array("<ip>".utf8)
        return cursor
    }

    private static func wordEnd(_ bytes: [UInt8], from start: Int, allowing extra: String) -> Int {
        let allowed = Array(extra.utf8)
        var end = start
        while end < bytes.count, isWord(bytes[end]) || allowed.contains(bytes[end]) { end += 1 }
        return end
    }

    private static func isWord(_ byte: UInt8) -> Bool { isLetter(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte >= 0x80 }
    private static func isLetter(_ byte: UInt8) -> Bool { (65...90).contains(byte) || (97...122).contains(byte) }
    private static func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }
    private static func isHex(_ byte: UInt8) -> Bool { isDigit(byte) || (65...70).contains(byte) || (97...102).contains(byte) }
    private static func lower(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte + 32 : byte }
}

import Crypto
import Market

/// Bybit V5 request signatures: lowercase hex HMAC-SHA256 with the API secret.
public enum BybitSigning {
    /// The signature of a REST request: over `timestamp + apiKey + recvWindow + payload`, where the
    /// payload is the query string (GET) or the exact body bytes (POST).
    public static func restSignature(secret: String, timestamp: Int64, apiKey: String, recvWindow: Int64, payload: String) -> String {
        hmac(secret: secret, message: "\(timestamp)\(apiKey)\(recvWindow)\(payload)")
    }

    /// The signature of a WebSocket `auth`: over `"GET/realtime" + expires` (ms).
    public static func authSignature(secret: String, expires: Int64) -> String {
        hmac(secret: secret, message: "GET/realtime\(expires)")
    }

    public static func hmac(secret: String, message: String) -> String {
        let key = SymmetricKey(data: Array(secret.utf8))
        let code = HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key)
        return hex(Array(code))
    }

    /// Compares two signatures in time independent of where they first differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

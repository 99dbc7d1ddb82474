import Foundation

/// An exchange API key pair, read from `NAME`, or `NAME_FILE=/path`, or `/run/secrets/<name>` —
/// never logged (both values are registered with `LogRedactor` as they are read), never echoed in an error.
public struct Credentials: Sendable, Equatable, CustomStringConvertible {
    public var apiKey: String
    public var apiSecret: String

    public init(apiKey: String, apiSecret: String) {
        self.apiKey = apiKey
        self.apiSecret = apiSecret
    }

    /// Never the values.
    public var description: String { "Credentials(apiKey: <redacted>, apiSecret: <redacted>)" }

    public enum LoadError: Error, CustomStringConvertible, Equatable {
        case onlyOne(present: String, missing: String)
        case unreadable(variable: String)

        public var description: String {
            switch self {
            case .onlyOne(let present, let missing):
                return "\(present) is set but \(missing) is not (set it, or \(missing)_FILE, or remove both for public data only)"
            case .unreadable(let variable):
                return "\(variable) names a file that cannot be read (check the path and its permissions)"
            }
        }
    }

    /// Both values, or `nil` when neither is configured (public data only).
    public static func load(keyName: String = "BYBIT_API_KEY", secretName: String = "BYBIT_API_SECRET",
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            secretsDirectory: String = "/run/secrets") throws(LoadError) -> Credentials? {
        let key = try value(keyName, environment: environment, secretsDirectory: secretsDirectory)
        let secret = try value(secretName, environment: environment, secretsDirectory: secretsDirectory)
        switch (key, secret) {
        case (nil, nil): return nil
        case (let key?, let secret?):
            LogRedactor.register(key)
            LogRedactor.register(secret)
            return Credentials(apiKey: key, apiSecret: secret)
        case (_?, nil): throw .onlyOne(present: keyName, missing: secretName)
        case (nil, _?): throw .onlyOne(present: secretName, missing: keyName)
        }
    }

    /// One secret from `NAME`, `NAME_FILE` or `/run/secrets/<name>`, registered with the log redactor.
    public static func secret(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                              secretsDirectory: String = "/run/secrets") throws(LoadError) -> String? {
        let found = try value(name, environment: environment, secretsDirectory: secretsDirectory)
        if let found { LogRedactor.register(found) }
        return found
    }

    static func value(_ name: String, environment: [String: String], secretsDirectory: String) throws(LoadError) -> String? {
        if let direct = environment[name], !direct.isEmpty { return direct }
        if let path = environment[name + "_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .unreadable(variable: name + "_FILE") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let secretFile = secretsDirectory + "/" + name.lowercased()
        if let text = try? String(contentsOfFile: secretFile, encoding: .utf8) {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? nil : trimmed
        }
        return nil
    }
}
